// What an integrator does on day one: generate types from Masthead's OpenAPI spec
// (`npm run generate` writes src/schema.d.ts with openapi-typescript), then call the API through
// a typed fetch client (openapi-fetch). `tsc` refuses this file if a path, parameter, body field
// or response field used here is not in the spec exactly as written, and scripts/contract-check.sh
// runs the compiled file against a live server, so the types are proven against real answers.
//
// Run: MASTHEAD_URL=http://127.0.0.1:8080 MASTHEAD_EMAIL=… MASTHEAD_PASSWORD=… node dist/client.js
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
type Problem = Schemas["Problem"];

const baseUrl = process.env.MASTHEAD_URL ?? "http://127.0.0.1:8080";
const email = required("MASTHEAD_EMAIL");
const password = required("MASTHEAD_PASSWORD");

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

/** Fails with the server's problem+json details when a call did not succeed. */
function ok<T>(what: string, result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined || result.error !== undefined) {
    const problem = result.error as Problem | undefined;
    throw new Error(
      `${what}: HTTP ${result.response.status} ${problem?.title ?? ""} ${problem?.detail ?? ""}`,
    );
  }
  return result.data;
}

/** Asserts that a call failed with the given status and a problem+json body. */
function problem(what: string, result: { error?: Problem; response: Response }, status: number): Problem {
  const type = result.response.headers.get("content-type") ?? "";
  if (result.response.status !== status || !result.error || !type.startsWith("application/problem+json")) {
    throw new Error(`${what}: expected ${status} problem+json, got ${result.response.status} ${type}`);
  }
  return result.error;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const client = createClient<paths>({ baseUrl });

async function main(): Promise<void> {
  // 1. Log in; every later call carries the access token.
  const tokens: Schemas["TokenPair"] = ok(
    "login",
    await client.POST("/api/v1/auth/login", { body: { email, password } }),
  );
  check(tokens.token_type === "Bearer" && tokens.expires_in > 0, "login: token pair");
  const auth = { Authorization: `Bearer ${tokens.access_token}` };

  // 2. Who am I?
  const me = ok("me", await client.GET("/api/v1/auth/me", { headers: auth }));
  check(me.role === "admin" && me.email === email, `me: expected the admin, got ${me.role} ${me.email}`);

  // 3. Create a user (an author for the bylines) and read it back.
  const suffix = Date.now().toString(36);
  const created = ok(
    "create user",
    await client.POST("/api/v1/admin/users", {
      headers: auth,
      body: {
        email: `ana.ruiz+${suffix}@news.example.com`,
        display_name: "Ana Ruiz",
        role: "author",
        password: "a long enough password 42",
      },
    }),
  );
  check(created.role === "author" && !created.disabled, "create user: role and state");
  const fetched = ok(
    "get user",
    await client.GET("/api/v1/admin/users/{id}", { headers: auth, params: { path: { id: created.id } } }),
  );
  check(fetched.email === created.email, "get user: same email");

  // Bad input is a typed problem, not an exception: a duplicate email is 409.
  const duplicate = await client.POST("/api/v1/admin/users", {
    headers: auth,
    body: { email: created.email, display_name: "Ana Ruiz", role: "author", password: "another long password" },
  });
  problem("duplicate user", duplicate, 409);

  // 4. An API key for an integration; its secret works as a Bearer token.
  const key = ok(
    "create API key",
    await client.POST("/api/v1/admin/api-keys", {
      headers: auth,
      body: { name: `Homepage renderer ${suffix}`, role: "editor", expires_at: null },
    }),
  );
  check(key.secret.startsWith(key.prefix), "API key: the secret starts with its prefix");
  const viaKey = ok(
    "me with the API key",
    await client.GET("/api/v1/auth/me", { headers: { Authorization: `Bearer ${key.secret}` } }),
  );
  check(viaKey.role === "editor" && viaKey.api_key_id === key.id, "API key: principal");

  // 5. List users page by page with the opaque cursor.
  let cursor: string | undefined;
  let seen = 0;
  let pages = 0;
  let found = false;
  do {
    const page: Schemas["Page_User"] = ok(
      "list users",
      await client.GET("/api/v1/admin/users", { headers: auth, params: { query: { limit: 1, cursor } } }),
    );
    seen += page.data.length;
    found ||= page.data.some((u) => u.id === created.id);
    cursor = page.next_cursor ?? undefined;
    pages += 1;
  } while (cursor && pages < 1000);
  check(found && seen >= 2, `list users: saw ${seen} users in ${pages} pages, new user found: ${found}`);

  // 6. Articles: create, publish and read back.
  await articleRoundTrip(auth, suffix);

  // Tidy up what this run created.
  ok("revoke key", withData(await client.DELETE("/api/v1/admin/api-keys/{id}", {
    headers: auth,
    params: { path: { id: key.id } },
  })));
  ok("delete user", withData(await client.DELETE("/api/v1/admin/users/{id}", {
    headers: auth,
    params: { path: { id: created.id } },
  })));

  console.log(
    `typescript client: ok (logged in as ${me.email}; created user ${created.id} and API key ${key.prefix}…; listed ${seen} users in ${pages} pages)`,
  );
}

/** 204 answers have no body: count the call as data when the status says success. */
function withData<R extends { error?: unknown; response: Response }>(result: R) {
  return { ...result, data: result.response.ok ? true : undefined };
}

/**
 * An article's whole life as an integrator's newsroom tool sees it: create a draft with a
 * paragraph and a pull quote, publish it, read it back from the public delivery API (no token)
 * and check the reader gets what the editor wrote; then revalidate with its ETag (304) and
 * delete it. Every body, block and field here is typed from the spec, so drift does not compile.
 */
async function articleRoundTrip(auth: { Authorization: string }, suffix: string): Promise<void> {
  const headline = `Harbour bridge reopens after eleven weeks of storm repairs (${suffix})`;
  const paragraph: Schemas["Block"] = {
    type: "paragraph",
    text: "The <b>Harbour Bridge</b> reopened to traffic at 6am on Monday, two days ahead of schedule.",
  };
  const quote: Schemas["Block"] = {
    type: "quote",
    text: "We asked a lot of the crews this winter, and they delivered.",
    attribution: "Council leader Priya Shah",
  };
  const draft: Schemas["NewArticle"] = {
    headline,
    standfirst: "Engineers replaced 40 metres of deck damaged in the January storms.",
    dateline: "PORTSMOUTH",
    body: [paragraph, quote],
  };
  const created = await client.POST("/api/v1/admin/articles", { headers: auth, body: draft });
  const article: Schemas["ArticleDto"] = ok("create article", created);
  check(article.status === "draft", `create article: status ${article.status}`);
  check(created.response.status === 201, `create article: HTTP ${created.response.status}`);
  const etag = created.response.headers.get("etag");
  check(etag !== null, "create article: ETag header");

  // Publishing honours If-Match with the ETag the create returned.
  const published = ok(
    "publish article",
    await client.POST("/api/v1/admin/articles/{id}/publish", {
      headers: auth,
      params: { path: { id: article.id }, header: { "If-Match": etag } },
      body: {},
    }),
  );
  check(published.status === "published" && published.published_at != null, "publish: status and time");

  // The public API: no token.
  const read = await client.GET("/api/v1/articles/{slug}", { params: { path: { slug: published.slug } } });
  const story: Schemas["ArticleDto"] = ok("read article", read);
  check(story.headline === headline, `read article: headline ${JSON.stringify(story.headline)}`);
  check(story.status === "published", `read article: status ${story.status}`);
  check(story.body.length === 2, `read article: ${story.body.length} blocks`);
  const [first, second] = story.body;
  check(
    first?.type === "paragraph" && first.text === paragraph.text,
    `read article: paragraph ${JSON.stringify(first)}`,
  );
  check(
    second?.type === "quote" && second.text === quote.text && second.attribution === quote.attribution,
    `read article: quote ${JSON.stringify(second)}`,
  );
  check(story.body_html.includes("<blockquote>"), "read article: body_html has the quote");
  const publicEtag = read.response.headers.get("etag");
  check(publicEtag !== null && (read.response.headers.get("cache-control") ?? "").startsWith("public"),
    "read article: ETag and public Cache-Control");

  // A cache revalidating with the ETag gets 304 and no body.
  const again = await client.GET("/api/v1/articles/{slug}", {
    params: { path: { slug: published.slug }, header: { "If-None-Match": publicEtag } },
  });
  check(again.response.status === 304, `revalidate: expected 304, got ${again.response.status}`);

  ok("delete article", withData(await client.DELETE("/api/v1/admin/articles/{id}", {
    headers: auth,
    params: { path: { id: article.id } },
  })));
  console.log(`typescript client: article round trip ok (${published.slug}: draft, published, read back, 304)`);
}

main().catch((err: unknown) => {
  console.error(`typescript client: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
