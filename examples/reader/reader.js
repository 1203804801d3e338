// The Masthead reference reader: the home page lists published articles; `?article=<slug>`
// shows one article with its figures, tags, corrections and comment thread, and a comment form
// that answers the server's challenge. Everything comes from the public API (no token).
//
// What a front end must know, as this file does it:
// - Block `text` (paragraph, heading, quote, list items) comes back as sanitised inline HTML
//   (`&` as `&amp;`): insert it as HTML. Everything else this page shows (headline, an
//   expanded image's caption, credit and source, comment bodies…) is plain text: set it as
//   text, never as HTML.
// - An image's `renditions.srcset` is ready for `<img srcset>`; `renditions.widths[]` lists
//   each width's URL.
// - The comment form needs a fresh challenge for every post (a token works once), and the
//   honeypot field `website` must be sent, empty, and hidden from people.

const params = new URLSearchParams(location.search);
const API = (params.get("api") || document.querySelector('meta[name="masthead-api"]').content).replace(/\/$/, "");
const main = document.getElementById("main");

/** A link to this page with `query` (the `api` override is carried along). */
function pageLink(query = {}) {
  const next = new URLSearchParams(query);
  if (params.get("api")) next.set("api", params.get("api"));
  const text = next.toString();
  return text ? `?${text}` : "./";
}

/** An element with attributes and children (strings become text nodes, never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "html") node.innerHTML = value; // only for the server's sanitised inline HTML
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function api(path, init = {}) {
  const response = await fetch(`${API}${path}`, init);
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.detail || body?.title || `HTTP ${response.status}`);
    error.status = response.status;
    error.problem = body;
    throw error;
  }
  return body;
}

const dateFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "long", timeStyle: "short" });
function time(iso) {
  return iso ? el("time", { datetime: iso }, dateFormat.format(new Date(iso))) : null;
}

/** `<img>` of an image with its srcset; `sizes` says how wide it is shown. */
function picture(image, sizes) {
  const widths = image.renditions.widths || [];
  const src = widths.length ? widths[Math.min(1, widths.length - 1)].url : image.renditions.original;
  return el("img", {
    src,
    srcset: image.renditions.srcset || undefined,
    sizes,
    width: image.width,
    height: image.height,
    alt: image.alt_text || "",
    loading: "lazy",
  });
}

/** A figure: the image, its caption, its credit and its source. In an article the expanded
 *  image's `caption` is already the one to print (the block's or hero's override, else the
 *  image's own), as plain text. */
function figure(image) {
  const sizes = "(min-width: 48rem) 46rem, 100vw";
  const caption = image.caption ? el("span", { class: "caption" }, image.caption) : null;
  const credit = image.credit ? el("span", { class: "credit" }, image.credit) : null;
  // The source unless the credit already names it ("Jane Doe/Masthead Wire", "Masthead Wire").
  const source =
    image.source && !(image.credit || "").toLowerCase().includes(image.source.toLowerCase())
      ? el("span", { class: "source" }, image.source)
      : null;
  return el(
    "figure",
    { "data-image-id": image.id },
    picture(image, sizes),
    caption || credit || source ? el("figcaption", {}, caption, credit, source) : null,
  );
}

function block(b) {
  switch (b.type) {
    case "paragraph":
      return el("p", { html: b.text });
    case "heading":
      return el(`h${Math.min(Math.max(b.level, 2), 4)}`, { html: b.text });
    case "quote":
      return el("blockquote", {}, el("p", { html: b.text }), b.attribution ? el("cite", {}, b.attribution) : null);
    case "list":
      return el(b.ordered ? "ol" : "ul", {}, b.items.map((item) => el("li", { html: item })));
    case "image":
      // A withdrawn image (rights expired) has `image: null`: the article reads on without it.
      return b.image ? figure(b.image) : null;
    case "embed":
      return el("p", { class: "embed" }, el("a", { href: b.url, rel: "noopener" }, b.provider ? `${b.provider}: ${b.url}` : b.url));
    case "divider":
      return el("hr");
    default:
      return null; // a block type newer than this page: skip it
  }
}

function tagLinks(tags) {
  return tags.length
    ? el("ul", { class: "tags" }, tags.map((t) => el("li", {}, el("a", { href: pageLink({ tag: t.slug }) }, t.name))))
    : null;
}

function byline(article) {
  const names = article.authors.map((a) => a.display_name).join(", ");
  return el(
    "p",
    { class: "byline" },
    names ? `By ${names}` : null,
    article.dateline ? el("span", { class: "dateline" }, article.dateline) : null,
    time(article.published_at),
  );
}

// --- home ---------------------------------------------------------------------------------

async function home() {
  const tag = params.get("tag");
  const page = await api(`/api/v1/articles?limit=20${tag ? `&tag=${encodeURIComponent(tag)}` : ""}`);
  document.title = "Masthead reader";
  const items = page.data.map((a) =>
    el(
      "li",
      { class: "teaser" },
      a.hero?.image ? picture(a.hero.image, "(min-width: 48rem) 12rem, 100vw") : null,
      el(
        "div",
        {},
        a.kicker ? el("p", { class: "kicker" }, a.kicker) : null,
        el("h2", {}, el("a", { href: pageLink({ article: a.slug }) }, a.headline)),
        a.standfirst ? el("p", { class: "standfirst" }, a.standfirst) : null,
        byline(a),
        tagLinks(a.tags),
      ),
    ),
  );
  main.replaceChildren(
    tag ? el("p", { class: "filter" }, `Tagged “${tag}” · `, el("a", { href: pageLink() }, "all articles")) : "",
    items.length ? el("ol", { class: "teasers" }, items) : el("p", {}, "Nothing published yet."),
  );
}

// --- article --------------------------------------------------------------------------------

function corrections(article) {
  // `corrections` arrives with issue 15; rendered whenever the API sends it.
  const list = Array.isArray(article.corrections) ? article.corrections : [];
  if (!list.length) return null;
  return el(
    "aside",
    { class: "corrections" },
    el("h2", {}, "Corrections"),
    el(
      "ul",
      {},
      list.map((c) =>
        typeof c === "string"
          ? el("li", {}, c)
          : el("li", {}, time(c.corrected_at || c.created_at || c.at), " ", c.text || c.body || c.note || ""),
      ),
    ),
  );
}

function commentList(comments) {
  return el(
    "ol",
    { class: "comments" },
    comments.map((c) =>
      el(
        "li",
        { class: "comment", id: `comment-${c.id}` },
        c.removed
          ? el("p", { class: "removed" }, "This comment was removed.")
          : [el("p", { class: "comment-meta" }, el("strong", {}, c.author_name), " ", time(c.created_at)), el("p", { class: "comment-body" }, c.body)],
        c.replies?.length ? commentList(c.replies) : null,
      ),
    ),
  );
}

async function commentThread(slug) {
  const comments = [];
  let cursor = null;
  do {
    // Comments change more often than their `max-age`: revalidate (an ETag makes it a 304).
    const page = await api(`/api/v1/articles/${encodeURIComponent(slug)}/comments?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, {
      cache: "no-cache",
    });
    comments.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return comments;
}

function commentForm(slug) {
  const status = el("p", { class: "form-status", role: "status" });
  const question = el("span", { class: "question" }, "…");
  let token = null;
  async function newChallenge() {
    const challenge = await api("/api/v1/comments/challenge");
    token = challenge.token;
    question.textContent = challenge.question;
  }
  const form = el(
    "form",
    { class: "comment-form", novalidate: true },
    el("h3", {}, "Add a comment"),
    el("label", {}, "Name", el("input", { name: "author_name", required: true, maxlength: 80, autocomplete: "name" })),
    el("label", {}, "Email (never shown)", el("input", { name: "author_email", type: "email", maxlength: 254, autocomplete: "email" })),
    el("label", {}, "Comment", el("textarea", { name: "body", required: true, maxlength: 5000, rows: 5 })),
    // The honeypot: people never see it, bots fill it in. Sent empty by this form.
    el(
      "div",
      { class: "hp", "aria-hidden": "true" },
      el("label", {}, "Leave this empty", el("input", { name: "website", tabindex: "-1", autocomplete: "off" })),
    ),
    el("label", {}, "Answer: ", question, el("input", { name: "challenge_answer", inputmode: "numeric", required: true, pattern: "[0-9]+" })),
    el("button", { type: "submit" }, "Post comment"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      author_name: data.get("author_name"),
      body: data.get("body"),
      website: data.get("website"),
      challenge_token: token,
      challenge_answer: Number.parseInt(String(data.get("challenge_answer")), 10),
    };
    if (data.get("author_email")) body.author_email = data.get("author_email");
    status.textContent = "Sending…";
    try {
      await api(`/api/v1/articles/${encodeURIComponent(slug)}/comments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      form.reset();
      status.textContent = "Thank you: your comment will appear once a moderator approves it.";
    } catch (error) {
      const fields = (error.problem?.errors || []).map((e) => `${e.field} ${e.message}`).join("; ");
      status.textContent = `Not posted: ${fields || error.message}`;
    }
    await newChallenge(); // a challenge works once, right or wrong
  });
  newChallenge().catch((error) => (status.textContent = `No challenge: ${error.message}`));
  return form;
}

async function article(slug) {
  const a = await api(`/api/v1/articles/${encodeURIComponent(slug)}`);
  document.title = `${a.headline} · Masthead reader`;
  const hero = a.hero?.image ? figure(a.hero.image) : null;
  hero?.classList.add("hero");
  const comments = a.comments_enabled || a.comment_count ? await commentThread(a.slug) : [];
  main.replaceChildren(
    el(
      "article",
      {},
      el(
        "header",
        {},
        a.kicker ? el("p", { class: "kicker" }, a.kicker) : null,
        el("h1", {}, a.headline),
        a.standfirst ? el("p", { class: "standfirst" }, a.standfirst) : null,
        byline(a),
      ),
      hero,
      el("div", { class: "body" }, a.body.map(block)),
      tagLinks(a.tags),
      corrections(a),
    ),
    el(
      "section",
      { class: "discussion", id: "comments" },
      el("h2", {}, `Comments (${comments.length})`),
      comments.length ? commentList(comments) : el("p", {}, "No comments yet."),
      a.comments_enabled ? commentForm(a.slug) : el("p", {}, "Comments are closed."),
    ),
    el("p", {}, el("a", { href: pageLink() }, "← All articles")),
  );
}

async function start() {
  try {
    const site = await api("/api/v1/site").catch(() => null);
    if (site?.name) document.getElementById("site-name").textContent = site.name;
    document.getElementById("site-name").setAttribute("href", pageLink());
    const slug = params.get("article");
    await (slug ? article(slug) : home());
  } catch (error) {
    main.replaceChildren(
      el("p", { class: "error" }, error.status === 404 ? "Not found." : `Could not reach the API at ${API}: ${error.message}`),
    );
  }
  document.body.dataset.ready = "true"; // for the browser test
}

start();
