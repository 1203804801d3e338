#!/usr/bin/env bash
# Webhook delivery on a release build: events delivered per second to a local receiver, and
# what a dead receiver does to API latency (PRODUCT.md §7: "a slow or dead receiver never slows
# the API"). Everything goes through the HTTP API.
#
#   cargo build --release
#   scripts/bench-webhooks.sh                                                  # SQLite
#   PG=postgres://masthead:masthead@127.0.0.1:5432/postgres scripts/bench-webhooks.sh   # PostgreSQL
#   PROFILE=debug scripts/bench-webhooks.sh                                    # a debug build
#
# Steps:
#   1. start two receivers (python3): a live one that answers 204 and counts, and a dead one
#      that accepts connections and never answers;
#   2. start `masthead serve` with MASTHEAD_WEBHOOK_WORKER=false, create a webhook (["*"]) to
#      the live receiver, create and publish EVENTS articles: EVENTS events wait in the outbox;
#   3. restart with the worker on and time how long the receiver takes to get them all
#      (fan-out, claim, sign, POST, record each attempt): events delivered per second;
#   4. wrk: GET /api/v1/articles/{slug} and publishes (c4), first with the webhook inactive
#      (events recorded, nothing delivered), then active (each publish delivered);
#   5. add a webhook to the dead receiver, publish until 64 deliveries hang on it (the worker's
#      limit in flight) and repeat 4 while they hang (MASTHEAD_WEBHOOK_TIMEOUT=10 s each, then
#      retried).
set -euo pipefail

EVENTS=${EVENTS:-2000}
DURATION=${DURATION:-10s}
PORT=${PORT:-18093}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${PROFILE:-release}
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/masthead}

for tool in wrk jq python3 curl; do
    command -v $tool >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "no $PROFILE build at $BIN: run cargo build --release" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=
RECEIVERS_PID=
PG_DB=masthead_bench_webhooks_$$
cleanup() {
    for pid in $SERVER_PID $RECEIVERS_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if [ -n "${PG:-}" ]; then psql -q "$PG" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/receivers.py" <<'PY'
import socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

count = 0
lock = threading.Lock()

class Live(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            count += 1
        self.send_response(204)
        self.end_headers()
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

def dead(port):
    held = []
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    while True:
        conn, _ = s.accept()
        held.append(conn)  # never read, never answered

threading.Thread(target=dead, args=(int(sys.argv[2]),), daemon=True).start()
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Live).serve_forever()
PY
LIVE_PORT=$((PORT + 1))
DEAD_PORT=$((PORT + 2))
python3 "$WORK/receivers.py" "$LIVE_PORT" "$DEAD_PORT" &
RECEIVERS_PID=$!

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

start() {
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && return; sleep 0.05; done
    echo "the server did not start" >&2; tail "$WORK/server.log" >&2; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

MASTHEAD_WEBHOOK_WORKER=false start
TOKEN=$(curl -fs "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$MASTHEAD_BOOTSTRAP_ADMIN_EMAIL\",\"password\":\"$MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD\"}" | jq -r .access_token)
api() { curl -fs -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
LIVE_ID=$(api "$BASE/api/v1/admin/webhooks" -d "{\"url\":\"http://127.0.0.1:$LIVE_PORT/hook\",\"events\":[\"*\"]}" | jq -r .id)

echo "Publishing $EVENTS articles with the worker off ($BACKEND)..."
: >"$WORK/ids"
for i in $(seq 1 "$EVENTS"); do
    id=$(api "$BASE/api/v1/admin/articles" -d "{\"headline\":\"Webhook bench story $i\",\"standfirst\":\"Short.\",
        \"body\":[{\"type\":\"paragraph\",\"text\":\"The council met on Tuesday to discuss the ferry timetable.\"}]}" | jq -r .id)
    api -X POST "$BASE/api/v1/admin/articles/$id/publish" >/dev/null
    echo "$id" >>"$WORK/ids"
done
stop

echo
echo "== $BACKEND: draining $EVENTS waiting events to a local receiver =="
start
t0=$(date +%s.%N)
while [ "$(curl -fs "http://127.0.0.1:$LIVE_PORT/count")" -lt "$EVENTS" ]; do sleep 0.05; done
t1=$(date +%s.%N)
python3 -c "d = $t1 - $t0; print(f'   {$EVENTS} events delivered in {d:.2f} s: {$EVENTS / d:.0f} events/s')"

SLUG=$(curl -fs "$BASE/api/v1/articles?limit=1" | jq -r '.data[0].slug')
cat >"$WORK/publish.lua" <<LUA
local ids = {}
for line in io.lines("$WORK/ids") do ids[#ids + 1] = line end
local n = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = "{}"
request = function()
    n = n + 1
    return wrk.format(nil, "/api/v1/admin/articles/" .. ids[(n % #ids) + 1] .. "/publish")
end
LUA
summary() { grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true; }
measure() {
    echo "   GET /api/v1/articles/{slug} (c8):"
    wrk -t1 -c8 -d"$DURATION" --latency "$BASE/api/v1/articles/$SLUG" | summary | sed 's/^/   /'
    echo "   publishes (c4, each records an event for the webhooks):"
    wrk -t1 -c4 -d"$DURATION" --latency -s "$WORK/publish.lua" "$BASE" | summary | sed 's/^/   /'
}

echo
echo "== $BACKEND: API latency, no active webhook (events recorded, nothing delivered) =="
api -X PATCH "$BASE/api/v1/admin/webhooks/$LIVE_ID" -d '{"active":false}' >/dev/null
measure
echo
echo "== $BACKEND: API latency, every publish delivered to the live receiver =="
api -X PATCH "$BASE/api/v1/admin/webhooks/$LIVE_ID" -d '{"active":true}' >/dev/null
measure

api "$BASE/api/v1/admin/webhooks" -d "{\"url\":\"http://127.0.0.1:$DEAD_PORT/hook\",\"events\":[\"*\"]}" >/dev/null
for id in $(head -100 "$WORK/ids"); do api -X POST "$BASE/api/v1/admin/articles/$id/publish" >/dev/null; done
sleep 1
echo
echo "== $BACKEND: API latency while 64 deliveries hang on a dead receiver =="
echo "   (connections held open by the dead receiver: $(ss -tn state established "( dport = :$DEAD_PORT )" | tail -n +2 | wc -l))"
measure
echo
if grep -qiE "panicked|internal error" "$WORK/server.log"; then
    echo "server log has errors:"; grep -iE "panicked|internal error" "$WORK/server.log" | head -5
fi
