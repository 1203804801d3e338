#!/usr/bin/env bash
# Memory check of image work (issue #19; docs/security.md, "Image work"). Against a release
# build with the default settings (MASTHEAD_IMAGE_MEMORY_BUDGET=512MiB) on SQLite:
#   1. uploads a 49-megapixel flat PNG (160 KB on the wire, 147 MB of pixels decoded whole) and
#      fires 40 concurrent anonymous requests for 40 distinct renditions of it;
#   2. uploads a PNG whose iCCP profile inflates to 1 GiB (1 MB on the wire), and fires 8
#      concurrent rendition requests for it (for its id if it was stored, else for the
#      49-megapixel image in formats not asked for yet);
# then reads the server's peak resident memory (VmHWM in /proc/<pid>/status) and its resident
# memory (VmRSS) 3 s after the burst, and with AFTER=30,60 (seconds) also later, to see whether
# the allocator gives the burst's memory back. Fails when the server dies, an answer is a 5xx
# other than 503 or no answer at all, the bomb is accepted, or VmHWM reaches 1 GiB. The last
# line is one tab-separated record (peak, RSS at start and at each point after the burst, load
# average) for tables of repeated runs.
#
#   scripts/image-memory-check.sh            # LIMIT_MIB=1024 by default
#   PROFILE=debug scripts/image-memory-check.sh
#   AFTER=30,60 scripts/image-memory-check.sh # RSS 3 s, 30 s and 60 s after the burst
#   BIN=path/to/masthead scripts/image-memory-check.sh  # a binary built elsewhere, no build
#
# Release by default: the figures are meant to describe production, and a debug build's pixel
# loops are slow enough to turn the burst into a queue of 503s. Needs curl, jq, python3, bc.
set -euo pipefail
cd "$(dirname "$0")/.."

LIMIT_MIB=${LIMIT_MIB:-1024}
PORT=${PORT:-18089}
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
SERVER=
trap 'if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

PROFILE=${PROFILE:-release}
AFTER=${AFTER:-}
if [ -z "${BIN:-}" ]; then
  if [ "$PROFILE" = release ]; then
    cargo build --release --quiet --bin masthead
  else
    cargo build --quiet --bin masthead
  fi
  BIN=${CARGO_TARGET_DIR:-target}/$PROFILE/masthead
fi

echo "== fixtures"
python3 scripts/image-fixtures.py flat "$WORK" &
python3 scripts/image-fixtures.py bomb "$WORK"
wait
ls -l "$WORK"/*.png | awk '{printf "   %-14s %9d bytes\n", $NF, $5}' | sed "s#$WORK/##"

MASTHEAD_DATABASE_URL="sqlite://$WORK/check.db" MASTHEAD_MEDIA_DIR="$WORK/media" \
MASTHEAD_BIND="127.0.0.1:$PORT" MASTHEAD_JWT_SECRET=memory-check-secret-0123456789abcdef \
MASTHEAD_BOOTSTRAP_ADMIN_EMAIL=check@example.com MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD='check password 123' \
MASTHEAD_ACCESS_TOKEN_TTL_SECS=3600 RUST_LOG=warn \
  "$BIN" serve &
SERVER=$!
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER/status"; }
START_KIB=$(status VmRSS)
echo "   server pid $SERVER, VmRSS at start $((START_KIB / 1024)) MiB"

TOKEN=$(curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"check@example.com","password":"check password 123"}' | jq -r .access_token)
upload() { # file -> "status id"
  curl -s -o "$WORK/upload.json" -w '%{http_code}' --max-time 120 "$BASE/api/v1/admin/images" \
    -H "authorization: Bearer $TOKEN" -F "file=@$1"
  printf ' %s\n' "$(jq -r '.id // empty' "$WORK/upload.json" 2>/dev/null)"
}
fire() { # label, then URLs: all at once, each answer's status into $WORK/codes
  local label=$1; shift
  local start pids=(); start=$(date +%s.%N)
  for url in "$@"; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 100 "$url" >>"$WORK/codes.$label" &
    pids+=($!)
  done
  wait "${pids[@]}" # not the server, which runs in the background too
  printf '   %s: %d requests in %.1f s, answers: %s\n' "$label" "$#" "$(echo "$(date +%s.%N) - $start" | bc)" \
    "$(sort "$WORK/codes.$label" | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
  cat "$WORK/codes.$label" >>"$WORK/codes"
}

echo "== 49-megapixel flat PNG"
read -r code FLAT < <(upload "$WORK/flat-49mp.png")
echo "   upload: $code"
[ "$code" = 201 ] || { echo "FAIL: the 49-megapixel PNG was not accepted ($code)" >&2; exit 1; }
urls=()
for w in 320 640 960 1280 1920; do
  ratio_h=$((w * 9 / 16))
  for q in "w=$w" "w=$w&h=$ratio_h" "w=$w&h=$w" "w=$w&h=$ratio_h&fit=contain" "w=$w&h=$w&fit=contain" \
           "w=$w&format=jpeg" "w=$w&h=$ratio_h&format=jpeg" "w=$w&h=$w&format=webp"; do
    urls+=("$BASE/media/$FLAT?$q")
  done
done
fire distinct-renditions "${urls[@]:0:40}"

echo "== iCCP bomb (inflates to 1 GiB)"
read -r code BOMB < <(upload "$WORK/iccp-bomb.png")
echo "   upload: $code $(jq -r '.detail // empty' "$WORK/upload.json")"
case $code in
  4??) ;;
  *) echo "FAIL: the iCCP bomb was not refused ($code)" >&2; FAILED=1 ;;
esac
target=${BOMB:-$FLAT}
bomb_urls=()
for q in "w=320&format=webp" "w=640&format=webp" "w=960&format=webp" "w=1280&format=webp" \
         "w=1920&format=webp" "w=320&h=180&format=webp" "w=640&h=360&format=webp" "w=960&h=540&format=webp"; do
  bomb_urls+=("$BASE/media/$target?$q")
done
fire bomb-renditions "${bomb_urls[@]}"

sleep 3
if ! kill -0 "$SERVER" 2>/dev/null; then
  echo "FAIL: the server died" >&2
  exit 1
fi
HWM_KIB=$(status VmHWM)
RSS_KIB=$(status VmRSS)
echo "== memory: peak VmHWM $((HWM_KIB / 1024)) MiB, VmRSS 3 s after the burst $((RSS_KIB / 1024)) MiB (limit $LIMIT_MIB MiB)"
record="peak=$((HWM_KIB / 1024))\tstart=$((START_KIB / 1024))\tafter3=$((RSS_KIB / 1024))"
waited=3
for t in ${AFTER//,/ }; do
  sleep $((t - waited)); waited=$t
  kill -0 "$SERVER" 2>/dev/null || { echo "FAIL: the server died" >&2; exit 1; }
  echo "   VmRSS $t s after the burst: $(( $(status VmRSS) / 1024 )) MiB"
  record+="\tafter$t=$(( $(status VmRSS) / 1024 ))"
done
printf "record\t$record\tload=%s\n" "$(cut -d' ' -f1-3 /proc/loadavg)"
bad=$(grep -cvE '^(2..|4..|503)$' "$WORK/codes" || true)
if [ "$bad" -gt 0 ]; then
  echo "FAIL: $bad answers were 5xx other than 503, or none at all" >&2
  FAILED=1
fi
if [ "$HWM_KIB" -ge $((LIMIT_MIB * 1024)) ]; then
  echo "FAIL: peak resident memory ${HWM_KIB} KiB reached the limit" >&2
  FAILED=1
fi
[ -z "${FAILED:-}" ] && echo "image memory check passed"
exit "${FAILED:-0}"
