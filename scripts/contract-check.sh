#!/usr/bin/env bash
# The API contract, checked by tools we did not write (issues 7 and 17; docs/api-contract.md):
#   1. Redocly CLI lints the spec the server serves (`recommended-strict`, zero errors), and
#      Spectral lints it with its `spectral:oas` ruleset (zero errors, zero warnings);
#   2. a TypeScript client generated from that spec (openapi-typescript + openapi-fetch) is
#      type-checked with tsc and run against the live server;
#   3. a Python client generated from that spec by openapi-python-client (no warnings; config
#      clients/python/config.yaml) runs a typed flow (clients/python/flow.py, mypy --strict);
#   4. the reference reader page (examples/reader/) in Debian's Chromium, driven by
#      playwright-core: read an article, post a comment, approve it, see it;
#   5. the distribution formats (issue 16): feeds in feedparser, JSON Feed 1.1 rules, sitemaps
#      against the committed XSDs with xmllint, structured_data expanded with PyLD
#      (scripts/contract/distribution_check.py; docs/distribution.md);
#   6. Schemathesis fuzzes every operation with all its checks on.
# It builds the debug binary, starts `masthead serve` on a free port with a temporary SQLite
# database (loading `masthead demo` content when that subcommand exists), logs in as an admin,
# runs the checks and stops the server. Exits non-zero on any failure.
#
# Tools install on demand into $MASTHEAD_TOOLS_DIR (default ~/.cache/masthead-tools): a Python
# venv with Schemathesis, feedparser and PyLD, another with openapi-python-client and mypy
# (clients/python/requirements.txt), clients/typescript/node_modules and
# examples/reader/node_modules from their package-lock.json files (npm's cache in the tools
# dir too), and Debian's `chromium` (apt-get, when it is missing and we are root).
# Knobs: CONTRACT_PORT and CONTRACT_READER_PORT (default: free ports), CONTRACT_MAX_EXAMPLES (default 25), CONTRACT_SEED (default fixed; "random" for a new
# one), CONTRACT_KEEP=1 keeps the work directory (server log, spec, reports, the generated
# Python client, the reader page's screenshot), READER_SCREENSHOT=<path> also writes that
# screenshot there (docs/reader-article.png is made so).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

SCHEMATHESIS_VERSION="4.32.5"
TOOLS="${MASTHEAD_TOOLS_DIR:-$HOME/.cache/masthead-tools}"
MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-25}"
SEED="${CONTRACT_SEED:-20260701}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Redocly CLI: no usage telemetry, no update check.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/debug/masthead"
ADMIN_EMAIL="contract-admin@news.example.com"
ADMIN_PASSWORD="contract-check-admin-password"

started=$(date +%s)
step() { printf '\n--- contract: %s ---\n' "$*"; }
fail() { echo "contract-check: FAILED: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------
step "tools"
VENV="$TOOLS/venv"
REQUIREMENTS="$ROOT/scripts/contract/requirements.txt"
req_sum=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ "$(cat "$VENV/.contract-requirements-sha256" 2>/dev/null)" != "$req_sum" ] ||
  ! "$VENV/bin/st" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION (pinned with its dependencies) into $VENV"
  mkdir -p "$TOOLS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" "schemathesis==$SCHEMATHESIS_VERSION"
  echo "$req_sum" > "$VENV/.contract-requirements-sha256"
fi
"$VENV/bin/st" --version
command -v xmllint >/dev/null || fail "xmllint is missing (Debian/Ubuntu: apt-get install libxml2-utils)"
# The official sitemaps.org sitemap.xsd, as the npm package `sitemap` ships it (this machine
# reaches npm, not sitemaps.org): month sitemaps are validated against it as well as against
# the committed XSDs (which also cover the index and the Google News extension).
OFFICIAL_SITEMAP_XSD="$TOOLS/sitemap-xsd/package/schema/sitemap.xsd"
if [ ! -f "$OFFICIAL_SITEMAP_XSD" ]; then
  echo "fetching the official sitemap.xsd (npm package sitemap@8.0.3)"
  mkdir -p "$TOOLS/sitemap-xsd"
  (cd "$TOOLS/sitemap-xsd" && npm pack --silent --cache "$TOOLS/npm-cache" sitemap@8.0.3 >/dev/null &&
    tar xzf sitemap-8.0.3.tgz package/schema/sitemap.xsd)
fi
export OFFICIAL_SITEMAP_XSD

CLIENT="$ROOT/clients/typescript"
lock_sum=$(sha256sum "$CLIENT/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$CLIENT/node_modules/.contract-lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
  echo "installing clients/typescript dependencies (npm ci)"
  (cd "$CLIENT" && npm ci --no-audit --no-fund --prefer-offline --cache "$TOOLS/npm-cache")
  echo "$lock_sum" > "$CLIENT/node_modules/.contract-lock-sha256"
fi
echo "node $(node --version), $(cd "$CLIENT" && node_modules/.bin/tsc --version), redocly $(cd "$CLIENT" && node_modules/.bin/redocly --version 2>/dev/null), spectral $(cd "$CLIENT" && node_modules/.bin/spectral --version 2>/dev/null)"

PYCLIENT="$ROOT/clients/python"
PYVENV="$TOOLS/pyclient-venv"
py_sum=$(sha256sum "$PYCLIENT/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$PYVENV/.requirements-sha256" 2>/dev/null)" != "$py_sum" ]; then
  echo "installing openapi-python-client and mypy (clients/python/requirements.txt) into $PYVENV"
  python3 -m venv "$PYVENV"
  "$PYVENV/bin/pip" install --quiet --disable-pip-version-check -r "$PYCLIENT/requirements.txt"
  echo "$py_sum" > "$PYVENV/.requirements-sha256"
fi
echo "$("$PYVENV/bin/openapi-python-client" --version), $("$PYVENV/bin/mypy" --version)"

READER="$ROOT/examples/reader"
reader_sum=$(sha256sum "$READER/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$READER/node_modules/.contract-lock-sha256" 2>/dev/null)" != "$reader_sum" ]; then
  echo "installing examples/reader dependencies (npm ci: playwright-core, no browser download)"
  (cd "$READER" && npm ci --no-audit --no-fund --prefer-offline --cache "$TOOLS/npm-cache")
  echo "$reader_sum" > "$READER/node_modules/.contract-lock-sha256"
fi
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium (apt-get) for the reader page's browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  [ -x "$CHROMIUM" ] || fail "no browser at $CHROMIUM (Debian/Ubuntu: apt-get install chromium; or set CHROMIUM)"
fi
echo "$("$CHROMIUM" --version 2>/dev/null | head -n1)"

# --- server ------------------------------------------------------------------------------
step "build"
cargo build --quiet --bin masthead
[ -x "$BIN" ] || fail "no binary at $BIN"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/masthead-contract.XXXXXX")
SERVER_PID=""
cleanup() {
  status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$WORK/server.log" ]; then
    echo "--- last lines of the server log ($WORK/server.log) ---" >&2
    tail -n 30 "$WORK/server.log" >&2 || true
  fi
  if [ "${CONTRACT_KEEP:-0}" = 1 ] || [ "$status" -ne 0 ]; then
    echo "contract-check: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  echo "contract-check: $( [ "$status" -eq 0 ] && echo passed || echo FAILED ) in $(( $(date +%s) - started ))s"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=${CONTRACT_PORT:-$(free_port)}
BASE="http://127.0.0.1:$PORT"
# The reader page is served from another origin (examples/reader/serve.mjs on this port): the
# server's CORS allows exactly that origin, as a deployment allows its front end's.
READER_PORT=${CONTRACT_READER_PORT:-$(free_port)}

# The server runs in the work directory so no developer `.env` is read; every setting it uses
# is given here.
export MASTHEAD_ENV=development
export MASTHEAD_DATABASE_URL="sqlite://$WORK/contract.db"
export MASTHEAD_BIND="127.0.0.1:$PORT"
export MASTHEAD_PUBLIC_URL="$BASE"
export MASTHEAD_MEDIA_DIR="$WORK/media"
export MASTHEAD_JWT_SECRET="contract-check-jwt-secret-0123456789abcdef"
export MASTHEAD_BOOTSTRAP_ADMIN_EMAIL="$ADMIN_EMAIL"
export MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD="$ADMIN_PASSWORD"
export MASTHEAD_ACCESS_TOKEN_TTL_SECS=3600
export MASTHEAD_ARGON2_MEMORY_KIB=4096
export MASTHEAD_CORS_ORIGINS="http://127.0.0.1:$READER_PORT"
unset MASTHEAD_RUN_MIGRATIONS MASTHEAD_STORAGE

step "database"
(
  cd "$WORK"
  "$BIN" migrate
  # The admin first, so it exists whatever `demo` loads (the bootstrap admin is only created
  # on a database without users).
  MASTHEAD_PASSWORD="$ADMIN_PASSWORD" "$BIN" user create --email "$ADMIN_EMAIL" --name "Contract Admin" --role admin
  if "$BIN" --help | grep -qw demo; then
    echo "loading demo content"
    "$BIN" demo
  else
    echo "no \`masthead demo\` in this build: checking against users and keys only"
  fi
) >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; fail "database setup"; }
sed 's/^/  /' "$WORK/setup.log"

step "server on $BASE"
(cd "$WORK" && exec "$BIN" serve) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited at start"
  sleep 0.2
done
curl -fsS "$BASE/readyz" >/dev/null || fail "the server is not ready after 20s"

login_body=$(printf '{"email":"%s","password":"%s"}' "$ADMIN_EMAIL" "$ADMIN_PASSWORD")
TOKEN=$(curl -fsS -X POST -H 'Content-Type: application/json' -d "$login_body" "$BASE/api/v1/auth/login" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') || fail "admin login"
curl -fsS "$BASE/openapi.json" -o "$WORK/openapi.json" || fail "GET /openapi.json"
echo "logged in; spec has $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len([m for m in p if m in ("get","put","post","patch","delete")]) for p in d["paths"].values()))' "$WORK/openapi.json") operations"

# --- 1. lint -----------------------------------------------------------------------------
step "Redocly lint (config: redocly.yaml, recommended-strict)"
(cd "$ROOT" && "$CLIENT/node_modules/.bin/redocly" lint --config redocly.yaml --format stylish "$WORK/openapi.json") ||
  fail "Redocly lint"

step "Spectral lint (config: .spectral.yaml, spectral:oas): no errors, no warnings"
(cd "$ROOT" && "$CLIENT/node_modules/.bin/spectral" lint --ruleset .spectral.yaml --fail-severity warn \
  --format text "$WORK/openapi.json") || fail "Spectral lint (see docs/api-contract.md)"

# --- 2. typed client ---------------------------------------------------------------------
step "TypeScript client: generate, type-check, run"
(
  cd "$CLIENT"
  node_modules/.bin/openapi-typescript "$WORK/openapi.json" -o src/schema.d.ts
  node_modules/.bin/tsc -p tsconfig.json
  MASTHEAD_URL="$BASE" MASTHEAD_EMAIL="$ADMIN_EMAIL" MASTHEAD_PASSWORD="$ADMIN_PASSWORD" node dist/client.js
) || fail "TypeScript client"

step "Python client: openapi-python-client (no warnings), mypy --strict, run"
(
  cd "$WORK"
  rm -rf python-client
  mkdir python-client
  # The generator runs `ruff` on what it wrote: it must be on PATH (it is in the venv).
  PATH="$PYVENV/bin:$PATH" "$PYVENV/bin/openapi-python-client" generate --path "$WORK/openapi.json" \
    --config "$PYCLIENT/config.yaml" --meta none --output-path python-client/masthead_client \
    >python-client/generate.log 2>&1 || { cat python-client/generate.log; exit 1; }
  cat python-client/generate.log
  if grep -qiE 'warning|error|cannot|unsupported|not in PATH' python-client/generate.log; then
    echo "openapi-python-client warned (above): the spec or clients/python/config.yaml needs fixing" >&2
    exit 1
  fi
  cp "$PYCLIENT/flow.py" python-client/
  cd python-client
  "$PYVENV/bin/mypy" --strict --config-file "$PYCLIENT/mypy.ini" --no-incremental flow.py
  MASTHEAD_URL="$BASE" MASTHEAD_EMAIL="$ADMIN_EMAIL" MASTHEAD_PASSWORD="$ADMIN_PASSWORD" \
    "$PYVENV/bin/python" flow.py
) || fail "Python client"

step "reader page in Chromium (examples/reader, playwright-core)"
shot="${READER_SCREENSHOT:-$WORK/reader-article.png}"
case "$shot" in /*) ;; *) shot="$ROOT/$shot" ;; esac
(
  cd "$READER"
  MASTHEAD_URL="$BASE" MASTHEAD_TOKEN="$TOKEN" READER_PORT="$READER_PORT" CHROMIUM="$CHROMIUM" \
    READER_SCREENSHOT="$shot" \
    node --test --test-reporter=spec test/
) || fail "reader page in the browser"

# --- 5. distribution formats ---------------------------------------------------------------
step "distribution formats: feedparser, JSON Feed 1.1, xmllint + sitemap XSDs, PyLD"
"$VENV/bin/python" "$ROOT/scripts/contract/distribution_check.py" "$BASE" "$WORK" ||
  fail "distribution formats (see above)"

# --- 6. Schemathesis ---------------------------------------------------------------------
# Last, because it writes freely (creates and deletes users and keys). The admin's own account
# is safe: the server refuses (409) to let admins delete, disable, demote or re-password
# themselves, and /auth/password needs the current password.
step "Schemathesis $SCHEMATHESIS_VERSION: all checks, $MAX_EXAMPLES examples per operation, seed $SEED"
seed_args=(--seed "$SEED")
[ "$SEED" = random ] && seed_args=()
(
  cd "$WORK"
  # Every check is on (Schemathesis's default; `--checks` would also override the one
  # per-operation exception in schemathesis.toml). The hooks read real tags, bylines and challenges, and give an article a body before a
  # positive publish case (scripts/contract/masthead_hooks.py).
  MASTHEAD_CONTRACT_URL="$BASE" MASTHEAD_CONTRACT_TOKEN="$TOKEN" \
  PYTHONPATH="$ROOT/scripts/contract" SCHEMATHESIS_HOOKS=masthead_hooks \
    "$VENV/bin/st" --no-color --config-file "$ROOT/scripts/contract/schemathesis.toml" \
    run "$BASE/openapi.json" \
    -H "Authorization: Bearer $TOKEN" \
    --max-examples "$MAX_EXAMPLES" \
    "${seed_args[@]}" \
    --generation-database none \
    --report junit --report-dir "$WORK/schemathesis-report"
) || fail "Schemathesis found contract violations (see above)"

# The run must not have locked the admin out: otherwise its later calls only tested 401s.
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/auth/me" >/dev/null ||
  fail "the admin token stopped working during the Schemathesis run"
echo "admin token still valid after the run"
