// The reference reader page in a real browser (Debian's Chromium driven by playwright-core),
// against a live Masthead with demo content: the home page lists articles, an article shows
// its figures with captions and credits, a reader solves the challenge and posts a comment, an
// editor approves it through the API, and after a reload the comment is on the page.
//
// Run by scripts/contract-check.sh, which starts the server with MASTHEAD_CORS_ORIGINS set to
// this page's origin. Environment:
//   MASTHEAD_URL     the API (e.g. http://127.0.0.1:8080)
//   MASTHEAD_TOKEN   an editor's or admin's access token (to approve the comment)
//   READER_PORT      the port to serve the page on (its origin must be allowed by CORS)
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   READER_SCREENSHOT where to write a screenshot of the article page (optional)
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { serve } from "../serve.mjs";

const API = process.env.MASTHEAD_URL;
const TOKEN = process.env.MASTHEAD_TOKEN;
assert.ok(API && TOKEN, "MASTHEAD_URL and MASTHEAD_TOKEN are required");

async function api(path, init = {}) {
  const response = await fetch(`${API}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...init.headers },
  });
  assert.ok(response.ok, `${init.method || "GET"} ${path}: HTTP ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? null : response.json();
}

/** A published article that takes comments and has a hero image with a credit. */
async function articleWithCreditedHero() {
  const list = await api("/api/v1/articles?limit=50");
  for (const summary of list.data) {
    if (!summary.hero?.image?.credit) continue;
    const article = await api(`/api/v1/articles/${summary.slug}`);
    if (article.comments_enabled) return article;
  }
  assert.fail("no published article with a credited hero image that takes comments (is the demo content loaded?)");
}

test("a reader reads an article, comments, and sees the approved comment", async (t) => {
  const server = await serve(Number(process.env.READER_PORT || 0));
  const page_url = `http://127.0.0.1:${server.address().port}/?api=${encodeURIComponent(API)}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  t.after(async () => {
    await browser.close();
    server.close();
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("response", (response) => {
    if (response.status() >= 400) errors.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
  });
  const ready = () => page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });

  const wanted = await articleWithCreditedHero();

  // Home: the list of articles, each a link to its page.
  await page.goto(page_url);
  await ready();
  const teasers = await page.locator(".teaser").count();
  assert.ok(teasers > 0, "the home page lists no article");
  await page.locator(`.teaser h2 a[href*="article=${wanted.slug}"]`).click();
  await ready();

  // The article: headline, kicker, dateline, date, hero and figures with caption and credit.
  await page.locator("article h1").filter({ hasText: wanted.headline }).waitFor();
  if (wanted.kicker) assert.equal(await page.locator("article .kicker").textContent(), wanted.kicker);
  if (wanted.dateline) assert.equal(await page.locator("article .dateline").textContent(), wanted.dateline);
  assert.ok(await page.locator("article .byline time").isVisible(), "no publication date");
  const hero = page.locator("figure.hero");
  assert.ok(await hero.locator("img").isVisible(), "hero image not visible");
  assert.equal(await hero.locator(".credit").textContent(), wanted.hero.image.credit);
  assert.ok(await hero.locator(".credit").isVisible(), "hero credit not visible");
  if (wanted.hero.image.caption) {
    assert.equal(await hero.locator(".caption").textContent(), wanted.hero.image.caption);
    assert.ok(await hero.locator(".caption").isVisible(), "hero caption not visible");
  }
  const figures = wanted.body.filter((b) => b.type === "image" && b.image);
  assert.equal(await page.locator(".body figure").count(), figures.length, "a body figure is missing");
  for (const [i, b] of figures.entries()) {
    const fig = page.locator(".body figure").nth(i);
    if (b.image.caption) assert.ok(await fig.locator(".caption").isVisible(), `figure ${i}: caption not visible`);
    if (b.image.credit) assert.ok(await fig.locator(".credit").isVisible(), `figure ${i}: credit not visible`);
  }
  for (const tag of wanted.tags) {
    assert.ok(await page.locator(".tags a", { hasText: tag.name }).isVisible(), `tag ${tag.name} not shown`);
  }
  // Images really load (CORS is not needed for <img>, but the URLs must be right). They are
  // `loading=lazy`, so each is scrolled into view; a rendition is made on its first request.
  const images = page.locator("article img");
  for (let i = 0; i < (await images.count()); i++) await images.nth(i).scrollIntoViewIfNeeded();
  await page
    .waitForFunction(() => [...document.querySelectorAll("article img")].every((i) => i.complete && i.naturalWidth > 0), null, {
      timeout: 30_000,
    })
    .catch(async () => {
      const broken = await page.$$eval("article img", (imgs) => imgs.filter((i) => !i.naturalWidth).map((i) => i.currentSrc || i.src));
      assert.fail(`images did not load: ${broken.join(", ")}`);
    });
  await page.evaluate(() => window.scrollTo(0, 0));

  // The honeypot is in the form but out of sight.
  const honeypot = await page.locator('input[name="website"]').boundingBox();
  assert.ok(honeypot === null || honeypot.x + honeypot.width <= 0, "the honeypot is visible");

  // A reader's comment: solve the challenge, post.
  const text = `Read it in a real browser (${Date.now()}).`;
  await page.fill('input[name="author_name"]', "Browser Reader");
  await page.fill('textarea[name="body"]', text);
  const question = page.locator(".question");
  await question.filter({ hasText: "= ?" }).waitFor();
  const [, a, op, b] = /(\d+)\s*([+-])\s*(\d+)/.exec(await question.textContent());
  const answer = op === "+" ? Number(a) + Number(b) : Number(a) - Number(b);
  await page.fill('input[name="challenge_answer"]', String(answer));
  await page.click(".comment-form button[type=submit]");
  await page.locator(".form-status", { hasText: "Thank you" }).waitFor({ timeout: 10_000 });

  // An editor approves it through the API.
  const pending = await api("/api/v1/admin/comments?status=pending&limit=100");
  const mine = pending.data.find((c) => c.body === text);
  assert.ok(mine, "the posted comment is not in the moderation queue");
  await api(`/api/v1/admin/comments/${mine.id}`, { method: "PATCH", body: JSON.stringify({ status: "approved" }) });

  // Reload: the comment is on the page.
  await page.reload();
  await ready();
  await page.locator(".comment-body", { hasText: text }).waitFor({ timeout: 10_000 });
  assert.ok(await page.locator(".comment-body", { hasText: text }).isVisible());

  if (process.env.READER_SCREENSHOT) {
    await page.screenshot({ path: process.env.READER_SCREENSHOT, fullPage: true });
  }
  assert.deepEqual(errors, [], "the page logged errors");
});
