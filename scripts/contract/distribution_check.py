"""Distribution formats checked by tools we did not write (issue 16; docs/distribution.md).

Run by scripts/contract-check.sh against the live server with demo content:
  python distribution_check.py BASE_URL WORK_DIR

1. RSS and Atom (unfiltered, by tag, by author) parse in feedparser with `bozo` 0, and carry
   what PRODUCT.md section 11 lists per item; Atom's required elements (RFC 4287) are there.
2. JSON Feed 1.1: the rules of https://jsonfeed.org/version/1.1 (required fields, types,
   unique ids, RFC 3339 dates), checked here (feedparser 6 does not read JSON Feed).
3. Sitemaps (index, every month it lists, Google News) validate with xmllint against the
   committed XSDs in scripts/contract/xsd/.
4. Every public article's `structured_data` expands with pyld (a JSON-LD 1.1 processor) to a
   schema.org NewsArticle with the properties section 11 lists.
Exits non-zero on the first failure, saying what failed.
"""

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import datetime

import feedparser
from pyld import jsonld

BASE = sys.argv[1].rstrip("/")
WORK = sys.argv[2]
XSD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "xsd")
SCHEMA = "https://schema.org/"


def fail(msg):
    print(f"distribution-check: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def get(path):
    with urllib.request.urlopen(BASE + path, timeout=30) as res:
        return res.status, res.headers.get("Content-Type", ""), res.read()


def check(cond, msg):
    if not cond:
        fail(msg)


def rfc3339(value, what):
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        fail(f"{what}: {value!r} is not an RFC 3339 time")


# --- the content to look at -------------------------------------------------------------
articles = json.loads(get("/api/v1/articles?limit=100")[2])["data"]
check(articles, "no public articles: the check needs demo content")
tag = next((t["slug"] for a in articles for t in a["tags"]), None)
author = articles[0]["authors"][0]["id"] if articles[0]["authors"] else None
filters = [""] + ([f"?tag={urllib.parse.quote(tag)}"] if tag else []) + (
    [f"?author={urllib.parse.quote(author)}"] if author else []
)

# --- 1. RSS and Atom ---------------------------------------------------------------------
for kind, version, ctype in [("rss.xml", "rss20", "application/rss+xml"), ("atom.xml", "atom10", "application/atom+xml")]:
    for f in filters:
        path = f"/feeds/{kind}{f}"
        status, content_type, body = get(path)
        check(status == 200 and content_type.startswith(ctype), f"{path}: {status} {content_type}")
        d = feedparser.parse(body)
        check(d.bozo == 0, f"{path}: feedparser bozo: {d.get('bozo_exception')}")
        check(d.version == version, f"{path}: feedparser read {d.version!r}, not {version}")
        check(d.entries, f"{path}: no entries")
        check(d.feed.get("title") and d.feed.get("link"), f"{path}: feed title or link missing")
        if kind == "atom.xml":
            check(d.feed.get("id") and d.feed.get("updated"), f"{path}: Atom feed id/updated missing")
        ids = set()
        for e in d.entries:
            where = f"{path}: entry {e.get('id')!r}"
            for field in ["title", "link", "id", "published", "summary"]:
                check(e.get(field), f"{where}: no {field}")
            check(e.id not in ids, f"{where}: id repeated")
            ids.add(e.id)
            check(e.get("content") and e.content[0].value, f"{where}: no full content")
            check(e.get("author") or d.feed.get("author"), f"{where}: no author")
            if kind == "atom.xml":
                check(e.get("updated"), f"{where}: Atom entry without updated")
            if kind == "rss.xml" and e.get("media_content"):
                check(e.media_content[0].get("url", "").startswith("http"), f"{where}: media:content without url")
        print(f"ok  {path}: {d.version}, {len(d.entries)} entries, bozo 0")

# --- 2. JSON Feed 1.1 --------------------------------------------------------------------
for f in filters:
    path = f"/feeds/feed.json{f}"
    status, content_type, body = get(path)
    check(status == 200 and content_type.startswith("application/feed+json"), f"{path}: {status} {content_type}")
    feed = json.loads(body)
    check(feed.get("version") == "https://jsonfeed.org/version/1.1", f"{path}: version")
    check(isinstance(feed.get("title"), str) and feed["title"], f"{path}: title")
    for key in ["home_page_url", "feed_url", "description", "language"]:
        check(key not in feed or isinstance(feed[key], str), f"{path}: {key} is not a string")
    check(feed.get("feed_url", "").startswith("http"), f"{path}: feed_url")
    check(isinstance(feed.get("items"), list) and feed["items"], f"{path}: items")
    ids = set()
    for item in feed["items"]:
        where = f"{path}: item {item.get('id')!r}"
        check(isinstance(item.get("id"), str) and item["id"], f"{where}: id must be a non-empty string")
        check(item["id"] not in ids, f"{where}: id repeated")
        ids.add(item["id"])
        check(isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str),
              f"{where}: content_html or content_text required")
        for key in ["url", "title", "summary", "image"]:
            check(key not in item or isinstance(item[key], str), f"{where}: {key} is not a string")
        for key in ["date_published", "date_modified"]:
            check(key in item, f"{where}: no {key}")
            rfc3339(item[key], f"{where}: {key}")
        check(isinstance(item.get("authors"), list), f"{where}: authors")
        for a in item["authors"]:
            check(isinstance(a, dict) and any(k in a for k in ["name", "url", "avatar"]), f"{where}: author {a!r}")
        check(all(isinstance(t, str) for t in item.get("tags", [])), f"{where}: tags must be strings")
    print(f"ok  {path}: JSON Feed 1.1, {len(feed['items'])} items")

# --- 3. Sitemaps against the XSDs ---------------------------------------------------------
def validate(path, xsd):
    status, content_type, body = get(path)
    check(status == 200 and content_type.startswith("application/xml"), f"{path}: {status} {content_type}")
    file = os.path.join(WORK, path.strip("/").replace("/", "_"))
    with open(file, "wb") as out:
        out.write(body)
    run = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(XSD, xsd), file],
                         capture_output=True, text=True)
    check(run.returncode == 0, f"{path} against {xsd}:\n{run.stderr}")
    print(f"ok  {path}: valid against {xsd}")
    return body.decode()


index = validate("/sitemap.xml", "siteindex.xsd")
locs = [part.split("</loc>")[0] for part in index.split("<loc>")[1:]]
check(any("/sitemaps/articles-" in loc for loc in locs), "/sitemap.xml lists no month")
for loc in locs:
    check(loc.startswith(BASE), f"/sitemap.xml: {loc} is not under {BASE}")
    path = loc[len(BASE):]
    news = validate(path, "sitemap.xsd")
    if path.endswith("news.xml"):
        check("<news:news>" in news, "/sitemaps/news.xml lists nothing from the last 48 hours")

# --- 4. JSON-LD --------------------------------------------------------------------------
# No network here: the schema.org context is given as its essence, every term in the schema.org
# vocabulary. That is what the published context says for the terms we use (none of them is
# typed there as @id, so `mainEntityOfPage` is sent as a node with an "@id").
def loader(url, options=None):
    if url.rstrip("/") in ("https://schema.org", "http://schema.org") or url.startswith("https://schema.org/docs/"):
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                "document": {"@context": {"@vocab": SCHEMA}}}
    fail(f"JSON-LD asked for a remote document: {url}")


jsonld.set_document_loader(loader)


def values(node, prop):
    return node.get(SCHEMA + prop, [])


def value(node, prop):
    v = values(node, prop)
    return v[0].get("@value", v[0].get("@id")) if v else None


for summary in articles:
    article = json.loads(get(f"/api/v1/articles/{urllib.parse.quote(summary['slug'])}")[2])
    where = f"structured_data of {summary['slug']}"
    data = article.get("structured_data")
    check(isinstance(data, dict), f"{where}: missing")
    expanded = jsonld.expand(data)
    check(len(expanded) == 1, f"{where}: expands to {len(expanded)} nodes")
    node = expanded[0]
    check(node.get("@type") == [SCHEMA + "NewsArticle"], f"{where}: @type {node.get('@type')}")
    check(value(node, "headline") == article["headline"], f"{where}: headline")
    for prop in ["datePublished", "dateModified"]:
        rfc3339(value(node, prop), f"{where}: {prop}")
    authors = values(node, "author")
    check(len(authors) == len(article["authors"]), f"{where}: authors")
    check(all(a.get("@type") == [SCHEMA + "Person"] and value(a, "name") for a in authors), f"{where}: author is not a named Person")
    check(values(node, "mainEntityOfPage")[0].get("@id") == article["seo"]["canonical_url"], f"{where}: mainEntityOfPage")
    publisher = values(node, "publisher")
    check(publisher and publisher[0].get("@type") == [SCHEMA + "Organization"] and value(publisher[0], "name"), f"{where}: publisher")
    check(sorted(v["@value"] for v in values(node, "articleSection")) == sorted(t["name"] for t in article["tags"]), f"{where}: articleSection")
    if article.get("dateline"):
        check(value(node, "dateline") == article["dateline"], f"{where}: dateline")
    images = values(node, "image")
    if article.get("hero") and article["hero"].get("image"):
        check(images, f"{where}: no image for the hero")
    for image in images:
        check(image.get("@type") == [SCHEMA + "ImageObject"] and value(image, "url"), f"{where}: image")
        if value(image, "creditText"):
            check(values(image, "creator"), f"{where}: creditText without creator")
    hero = (article.get("hero") or {}).get("image") or {}
    if hero.get("credit"):
        check(value(images[0], "creditText") == hero["credit"], f"{where}: creditText")
    if hero.get("caption"):
        check(value(images[0], "caption") == hero["caption"], f"{where}: caption")
    if hero.get("copyright"):
        check(value(images[0], "copyrightNotice") == hero["copyright"], f"{where}: copyrightNotice")
    for correction in article.get("corrections") or []:
        check(values(node, "correction"), f"{where}: corrections not in the JSON-LD")
print(f"ok  structured_data of {len(articles)} articles: NewsArticle expands in pyld with the section 11 properties")
print("distribution-check: passed")
