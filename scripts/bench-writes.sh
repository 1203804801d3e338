#!/usr/bin/env bash
# Write load on a release build: publishes per second with 1 and 16 concurrent editors, and the
# effect of that write load on public read latency. Everything is made through the HTTP API.
#
#   cargo build --release
#   scripts/bench-writes.sh                                                  # SQLite
#   PG=postgres://masthead:masthead@127.0.0.1:5432/postgres scripts/bench-writes.sh   # PostgreSQL
#
# Steps: start `masthead serve` on a fresh database; log in as the bootstrap admin; create and
# publish ARTICLES articles through the API (body, standfirst, two tags); then
#   1. wrk -c1 and -c16: POST /api/v1/admin/articles/{id}/publish round-robin over the articles
#      (each publish is a save: a new version and a revision);
#   2. wrk: GET /api/v1/articles/{slug} alone, then the same while 16 editors publish.
# Prints requests/s and latency percentiles; any non-2xx answer is counted and printed.
set -euo pipefail

ARTICLES=${ARTICLES:-200}
DURATION=${DURATION:-10s}
PORT=${PORT:-18091}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/masthead}

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed: apt-get install -y jq" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no release build at $BIN: run cargo build --release" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=
PG_DB=masthead_bench_writes_$$
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "${PG:-}" ]; then psql -q "$PG" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${PG:-}" ]; then
    psql -q "$PG" -c "CREATE DATABASE $PG_DB" >/dev/null
    PG_URL=$(python3 -c "import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p._replace(path='/$PG_DB').geturl())" "$PG")
    export MASTHEAD_DATABASE_URL="$PG_URL"
    BACKEND=PostgreSQL
else
    export MASTHEAD_DATABASE_URL="sqlite://$WORK/bench.db"
    BACKEND=SQLite
fi
BASE="http://127.0.0.1:$PORT"
export MASTHEAD_BIND="127.0.0.1:$PORT"
export MASTHEAD_ENV=development
export MASTHEAD_MEDIA_DIR="$WORK/media"
export MASTHEAD_BOOTSTRAP_ADMIN_EMAIL=bench@example.com
export MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD='bench password that is long'
export RUST_LOG=${RUST_LOG:-warn}

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

TOKEN=$(curl -fs "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$MASTHEAD_BOOTSTRAP_ADMIN_EMAIL\",\"password\":\"$MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD\"}" | jq -r .access_token)
api() { curl -fs -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
api "$BASE/api/v1/admin/tags" -d '{"name":"Harbour"}' >/dev/null
api "$BASE/api/v1/admin/tags" -d '{"name":"Council"}' >/dev/null

echo "Creating and publishing $ARTICLES articles through the API ($BACKEND)..."
PARAGRAPH="The harbour council met on Tuesday to discuss the ferry timetable, the bridge repairs and the festival budget."
: >"$WORK/ids"
for i in $(seq 1 "$ARTICLES"); do
    id=$(api "$BASE/api/v1/admin/articles" -d "{\"headline\":\"Harbour council story $i\",\"standfirst\":\"What the council decided.\",
        \"tags\":[\"harbour\",\"council\"],\"body\":[{\"type\":\"paragraph\",\"text\":\"$PARAGRAPH\"},
        {\"type\":\"quote\",\"text\":\"We will keep the ferry running.\",\"attribution\":\"The mayor\"},
        {\"type\":\"paragraph\",\"text\":\"$PARAGRAPH $PARAGRAPH\"}]}" | jq -r .id)
    api -X POST "$BASE/api/v1/admin/articles/$id/publish" >/dev/null
    echo "$id" >>"$WORK/ids"
done
SLUG=$(curl -fs "$BASE/api/v1/articles?limit=1" | jq -r '.data[0].slug')

cat >"$WORK/publish.lua" <<LUA
local ids = {}
for line in io.lines("$WORK/ids") do ids[#ids + 1] = line end
local n = 0
local failed = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = "{}"
request = function()
    n = n + 1
    return wrk.format(nil, "/api/v1/admin/articles/" .. ids[(n % #ids) + 1] .. "/publish")
end
response = function(status)
    if status >= 300 then failed = failed + 1; if failed <= 3 then print("non-2xx: " .. status) end end
end
LUA

summary() { grep -E "Requests/sec|Latency |50%|99%|Non-2xx|Socket errors" || true; }

echo
echo "== $BACKEND: publishes, 1 editor =="
wrk -t1 -c1 -d"$DURATION" --latency -s "$WORK/publish.lua" "$BASE" | summary
echo
echo "== $BACKEND: publishes, 16 editors =="
wrk -t2 -c16 -d"$DURATION" --latency -s "$WORK/publish.lua" "$BASE" | summary
echo
echo "== $BACKEND: GET /api/v1/articles/$SLUG alone (c8) =="
wrk -t1 -c8 -d"$DURATION" --latency "$BASE/api/v1/articles/$SLUG" | summary
echo
echo "== $BACKEND: the same GET while 16 editors publish =="
wrk -t1 -c16 -d"$DURATION" --latency -s "$WORK/publish.lua" "$BASE" >"$WORK/writes.txt" &
WRITES=$!
wrk -t1 -c8 -d"$DURATION" --latency "$BASE/api/v1/articles/$SLUG" | summary
wait "$WRITES"
echo "   (publishes meanwhile:)"
summary <"$WORK/writes.txt"
echo
if grep -qiE "panicked|internal error" "$WORK/server.log"; then
    echo "server log has errors:"; grep -iE "panicked|internal error" "$WORK/server.log" | head -5
fi
echo "RSS of the server after the run: $(awk '/VmRSS/ {print $2 " kB"}' /proc/$SERVER_PID/status)"
