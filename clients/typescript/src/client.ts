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
  await articleRoundTrip(auth);

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

// ---------------------------------------------------------------------------------------------
// TODO(articles, issue 7): create, publish and read back an article.
//
// Fill this in once the articles routes are merged (they are built on another branch). It must
// use only generated types, so it stops compiling if the spec drifts, e.g.:
//   POST /api/v1/admin/articles {headline, standfirst, body: [{type: "paragraph", text}], …}
//   POST /api/v1/admin/articles/{id}/publish
//   GET  /api/v1/articles/{slug}   (public, no token) → same headline, status "published",
//        ETag and Cache-Control headers; then If-None-Match with that ETag → 304.
// Until then it says so loudly instead of pretending.
// ---------------------------------------------------------------------------------------------
async function articleRoundTrip(_auth: { Authorization: string }): Promise<void> {
  console.log("typescript client: articles are not in the spec yet; article round trip NOT RUN (TODO)");
}

main().catch((err: unknown) => {
  console.error(`typescript client: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
