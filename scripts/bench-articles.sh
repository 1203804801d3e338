#!/usr/bin/env bash
# Load test of the public article API (list and by-slug) on a release build with SQLite.
#
#   cargo build --release
#   scripts/bench-articles.sh                 # 10 000 articles
#   N=100000 scripts/bench-articles.sh        # list latency at another size
#   PG=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-articles.sh   # on PostgreSQL
#
# Seeds N published articles straight into a fresh database (SQL, so 100 000 take seconds, not
# an hour of API calls; FTS triggers still run), starts `masthead serve`, and runs wrk against
# the first list page, a deep list page (keyset via published_before), a tag-filtered list and
# one article by slug. Prints wrk's summary (requests/s, latency percentiles incl. p99).
set -euo pipefail

N=${N:-10000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/masthead}

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed to seed the database" >&2; exit 1; }
if [ -n "${PG:-}" ]; then command -v psql >/dev/null || { echo "psql is needed with PG=" >&2; exit 1; }; fi
[ -x "$BIN" ] || { echo "no release build at $BIN: run cargo build --release" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=
PG_DB=masthead_bench_$$
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
else
    export MASTHEAD_DATABASE_URL="sqlite://$WORK/bench.db"
fi
export MASTHEAD_BIND="127.0.0.1:$PORT"
export MASTHEAD_ENV=development
export RUST_LOG=${RUST_LOG:-warn}

"$BIN" migrate >/dev/null
"$BIN" demo >/dev/null   # a demo author and tags to link the seeded articles to

if [ -n "${PG:-}" ]; then
psql -q "$PG_URL" -v n="$N" <<'SQL' >/dev/null
\set ON_ERROR_STOP on
INSERT INTO articles (id, slug, headline, standfirst, dateline, body, body_html, body_text, status,
                      published_at, word_count, created_at, updated_at)
SELECT md5('bench' || i)::uuid::text, 'bench-story-' || i,
       'Bench story ' || i || ': harbour council ferry bridge festival',
       'A standfirst for the benchmark.', 'BENCHTON',
       '[{"type":"paragraph","text":"' || repeat('harbour council ferry bridge festival school ', 10) || '"}]',
       '<p>' || repeat('harbour council ferry bridge festival school ', 10) || '</p>',
       repeat('harbour council ferry bridge festival school lighthouse seal budget storm ', 20),
       'published', timestamp '2020-01-01' + i * interval '1 minute', 250, now(), now()
FROM generate_series(0, :n - 1) AS i;
INSERT INTO article_authors (article_id, user_id, position)
SELECT a.id, u.id, 0 FROM articles a, users u
WHERE u.email = 'demo.author@masthead.example' AND a.slug LIKE 'bench-story-%';
INSERT INTO article_tags (article_id, tag_id, position)
SELECT a.id, t.id, 0
FROM articles a
JOIN (SELECT id, row_number() OVER (ORDER BY slug) - 1 AS k FROM tags) t
  ON t.k = substr(a.slug, 13)::int % 4
WHERE a.slug LIKE 'bench-story-%';
ANALYZE;
SQL
echo "seeded $N articles (PostgreSQL)"
else
python3 - "$WORK/bench.db" "$N" <<'PY'
import json, sqlite3, sys, uuid, datetime
db, n = sys.argv[1], int(sys.argv[2])
conn = sqlite3.connect(db)
author = conn.execute("SELECT id FROM users WHERE email = 'demo.author@masthead.example'").fetchone()[0]
tags = [r[0] for r in conn.execute("SELECT id FROM tags ORDER BY slug")]
words = ("harbour council ferry bridge festival school lighthouse seal budget storm market "
         "quay island volunteers report weather commuters library station museum").split()
start = datetime.datetime(2020, 1, 1)
rows, authors, links = [], [], []
for i in range(n):
    aid = str(uuid.uuid4())
    w = [words[(i * 7 + k) % len(words)] for k in range(12)]
    headline = f"Bench story {i}: {' '.join(w[:5])}"
    paragraph = " ".join(w * 10)
    body = json.dumps([{"type": "paragraph", "text": paragraph}, {"type": "heading", "level": 2, "text": "More"},
                       {"type": "paragraph", "text": paragraph}])
    html = f"<p>{paragraph}</p>\n<h2>More</h2>\n<p>{paragraph}</p>\n"
    at = (start + datetime.timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows.append((aid, f"bench-story-{i}", headline, "A standfirst for the benchmark.", "BENCHTON", body, html,
                 paragraph + "\n" + paragraph, "published", at, 250, at, at))
    authors.append((aid, author))
    links.append((aid, tags[i % len(tags)]))
conn.executemany("""INSERT INTO articles (id, slug, headline, standfirst, dateline, body, body_html, body_text,
    status, published_at, word_count, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
conn.executemany("INSERT INTO article_authors (article_id, user_id, position) VALUES (?,?,0)", authors)
conn.executemany("INSERT INTO article_tags (article_id, tag_id, position) VALUES (?,?,0)", links)
conn.commit()
conn.execute("ANALYZE")
print(f"seeded {n} articles")
PY
fi

"$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done

BASE="http://127.0.0.1:$PORT/api/v1"
MIDDLE=$(python3 -c "import datetime; print((datetime.datetime(2020,1,1)+datetime.timedelta(minutes=$N//2)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
run() {
    echo "== $1 ($N articles, $CONNECTIONS connections, $DURATION)"
    curl -fs -o /dev/null -w "   status %{http_code}, %{size_download} bytes\n" "$2"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$2" | grep -E "Requests/sec|Latency  |50%|90%|99%|Non-2xx"
}
single() {
    echo "== $1, one connection ($N articles, $DURATION)"
    wrk -t1 -c1 -d"$DURATION" --latency "$2" | grep -E "Requests/sec|50%|99%"
}
single "list, first page" "$BASE/articles?limit=20"
single "list, deep page" "$BASE/articles?limit=20&published_before=$MIDDLE"
run "list, first page (limit 20)" "$BASE/articles?limit=20"
run "list, deep page (keyset at the middle)" "$BASE/articles?limit=20&published_before=$MIDDLE"
run "list by tag" "$BASE/articles?limit=20&tag=transport"
run "article by slug" "$BASE/articles/bench-story-$((N / 2))"
