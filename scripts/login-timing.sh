#!/usr/bin/env bash
# Measures how long a failed login takes for an unknown email and for a wrong password on a
# real account (they must be alike, so response time does not reveal which emails exist).
# Usage: scripts/login-timing.sh [N]   (N attempts of each, interleaved; default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/masthead-target}"
cargo build -q --release
BIN="$CARGO_TARGET_DIR/release/masthead"
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
export MASTHEAD_DATABASE_URL="sqlite://$WORK/t.db" MASTHEAD_BIND="127.0.0.1:$PORT" \
  MASTHEAD_LOGIN_MAX_ATTEMPTS=100000 MASTHEAD_BOOTSTRAP_ADMIN_EMAIL=desk@news.example.com \
  MASTHEAD_BOOTSTRAP_ADMIN_PASSWORD='a long enough password' RUST_LOG=error
(cd "$WORK" && exec "$BIN" serve) & PID=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
attempt() {
  curl -s -o /dev/null -w '%{time_total}\n' -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"not the password 123\"}" "http://127.0.0.1:$PORT/api/v1/auth/login"
}
: >"$WORK/unknown"; : >"$WORK/wrong"
for _ in $(seq 1 "$N"); do
  attempt "nobody-$RANDOM@news.example.com" >>"$WORK/unknown"
  attempt desk@news.example.com >>"$WORK/wrong"
done
python3 - "$WORK/unknown" "$WORK/wrong" <<'PY'
import statistics, sys
u = [float(x) * 1000 for x in open(sys.argv[1])]
w = [float(x) * 1000 for x in open(sys.argv[2])]
print(f"unknown email : median {statistics.median(u):.1f} ms  (min {min(u):.1f}, max {max(u):.1f})")
print(f"wrong password: median {statistics.median(w):.1f} ms  (min {min(w):.1f}, max {max(w):.1f})")
print(f"ratio of medians: {statistics.median(w) / statistics.median(u):.2f}")
PY
