#!/usr/bin/env bash
# Image benchmark (docs/benchmarks.md, "Images"): upload throughput, first-rendition latency and
# cached-rendition requests/second for 3000×2000 JPEGs, against a release build on SQLite.
#
#   scripts/bench-images.sh            # defaults: 20 uploads, 15 s of wrk
#   UPLOADS=40 DURATION=30 scripts/bench-images.sh
#
# Needs: curl, jq, wrk (apt-get install wrk). Uses its own temporary database and media dir.
set -euo pipefail
cd "$(dirname "$0")/.."

UPLOADS=${UPLOADS:-20}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18088}
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
SERVER=
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release --quiet --bin masthead --example bench_jpeg
TARGET=${CARGO_TARGET_DIR:-target}/release

echo "== generating $UPLOADS distinct 3000x2000 JPEGs"
"$TARGET/examples/bench_jpeg" "$WORK/photos" "$UPLOADS" >/dev/null
ls -l "$WORK/photos" | awk 'NR>1 {s+=$5; n++} END {printf "   average size %.2f MB\n", s/n/1048576}'

MASTHEAD_DATABASE_URL="sqlite://$WORK/bench.db" MASTHEAD_MEDIA_DIR="$WORK/media" \
MASTHEAD_BIND="127.0.0.1:$PORT" MASTHEAD_JWT_SECRET=bench-secret-0123456789abcdef0123456789 \
MASTHEAD_BOOTSTRAP_ADMIN_EMAIL=bench@example.com MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD='bench password 123' \
MASTHEAD_ACCESS_TOKEN_TTL_SECS=3600 RUST_LOG=warn \
  "$TARGET/masthead" serve &
SERVER=$!
for _ in $(seq 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done

TOKEN=$(curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench password 123"}' | jq -r .access_token)

echo "== upload: $UPLOADS sequential uploads"
start=$(date +%s.%N)
for f in "$WORK"/photos/*.jpg; do
  curl -sf -o "$WORK/last.json" -w '%{time_total}\n' "$BASE/api/v1/admin/images" \
    -H "authorization: Bearer $TOKEN" -F "file=@$f" -F caption=Benchmark -F credit='Bench/Wire' \
    >>"$WORK/upload-times"
  jq -r .id "$WORK/last.json" >>"$WORK/ids"
done
end=$(date +%s.%N)
BYTES=$(cat "$WORK"/photos/*.jpg | wc -c)
awk -v n="$UPLOADS" -v b="$BYTES" -v s="$start" -v e="$end" \
  'BEGIN {printf "   %.1f uploads/s, %.1f MB/s (one client, sequential)\n", n/(e-s), b/(e-s)/1048576}'
sort -n "$WORK/upload-times" | awk '{a[NR]=$1} END {printf "   latency p50 %.0f ms, max %.0f ms\n", a[int((NR+1)/2)]*1000, a[NR]*1000}'

echo "== first rendition (w=1280, generated on request)"
while read -r id; do
  curl -sf -o /dev/null -w '%{time_total}\n' "$BASE/media/$id?w=1280" >>"$WORK/first-times"
done <"$WORK/ids"
sort -n "$WORK/first-times" | awk '{a[NR]=$1} END {printf "   p50 %.0f ms, max %.0f ms (n=%d)\n", a[int((NR+1)/2)]*1000, a[NR]*1000, NR}'

echo "== first cover crop (w=640&h=360&fit=cover&format=webp)"
while read -r id; do
  curl -sf -o /dev/null -w '%{time_total}\n' "$BASE/media/$id?w=640&h=360&fit=cover&format=webp" >>"$WORK/crop-times"
done <"$WORK/ids"
sort -n "$WORK/crop-times" | awk '{a[NR]=$1} END {printf "   p50 %.0f ms, max %.0f ms (n=%d)\n", a[int((NR+1)/2)]*1000, a[NR]*1000, NR}'

ID=$(head -1 "$WORK/ids")
echo "== cached rendition: wrk -t2 -c$CONNECTIONS -d${DURATION}s /media/$ID?w=1280"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$BASE/media/$ID?w=1280" | sed 's/^/   /'
echo "== original (1-2 MB): wrk -t2 -c$CONNECTIONS -d${DURATION}s /media/$ID/original"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$BASE/media/$ID/original" | sed 's/^/   /'
echo "== conditional (If-None-Match -> 304)"
ETAG=$(curl -sf -D - -o /dev/null "$BASE/media/$ID?w=1280" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -H "If-None-Match: $ETAG" "$BASE/media/$ID?w=1280" | sed 's/^/   /'
