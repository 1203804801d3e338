"""Schemathesis hooks for Masthead's contract check (loaded via SCHEMATHESIS_HOOKS).

JSON Schema cannot express a few rules the server rightly enforces: values only the server can
mint, references to things that must exist, and preconditions on a resource's state. A
*positive* test case (one Schemathesis promises is valid, and then checks the server accepts)
is adjusted here to respect them. Negative cases are left alone, and every status the server
may answer with is still documented in the spec. Each rule is listed in docs/api-contract.md
("Exceptions"); add new ones there.

1. Opaque tokens only the server can mint: the `cursor` query parameter (HMAC-signed
   `next_cursor` of the previous page; others get a documented 400) and the `If-Match` header
   (the resource's current ETag; others get a documented 412). Any string is schema-valid, but
   only a minted one is accepted, so positive cases omit them (both are optional). `If-Match`
   is dropped from negative cases too: an unconstrained string header has no invalid value of
   its own, and a stale one would answer 412 before the invalid part of the case is looked at.
2. Request body fields named in FUTURE_FIELDS are RFC 3339 times that must lie in the future
   (an API key's `expires_at`); a past value gets a documented 422. Positive cases move a past
   value a month ahead.
3. References that must exist (documented 422 otherwise): an article's `tags` (tag ids or
   slugs) are replaced by tags that exist now (read from `GET /api/v1/tags` per case, since
   the run deletes tags too) and its `authors` (user ids) by the run's admin, who cannot be
   deleted; a comment's `parent_id` is dropped.
4. A comment needs a fresh, signed, single-use challenge: positive comment posts fetch one from
   `GET /api/v1/comments/challenge`, solve its sum and fill `challenge_token` and
   `challenge_answer`; they are aimed at a published demo article (random slugs only test 404).
5. Publishing or scheduling needs an article with a body (documented 422 otherwise): right
   before a positive publish/schedule call (`before_call`, so the stateful phase's linked ids
   are in place), an article with an empty body gets one paragraph (a PATCH with the admin
   token).
6. Images must exist where they are referenced (documented 422 otherwise): an article's
   `hero.image_id`, image blocks' `image_id` and `seo.og_image`, and the site's `logo_image_id`
   are replaced by ids of images that exist (the demo's, which published demo articles use, so
   the run cannot delete them: 409). An upload's `file` must be a real JPEG/PNG/WebP/GIF
   (documented 415/422 otherwise; the type is decided from the bytes): positive uploads get a
   small PNG. Rendition sizes come from a configured set (documented 400 otherwise): positive
   rendition requests use the default widths, and heights of the default ratios for that width.

7. Newsroom times (PRODUCT.md §10; documented 409/422 otherwise): positive article writes move
   `embargo_until` into the past (a future embargo makes every later publish of that article a
   409 and an earlier schedule a 422) and `unpublish_at` to the last second of year 9999 (it
   must come after the publication); a positive publish moves `published_at` (a backdate) into
   the past.

The base URL and the admin token come from MASTHEAD_CONTRACT_URL / MASTHEAD_CONTRACT_TOKEN, set by
scripts/contract-check.sh. Without them rules 3-6 are skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import struct
import urllib.error
import zlib
import urllib.request
from collections.abc import MutableMapping

import schemathesis
from schemathesis import GenerationMode

# Optional inputs only the server can mint. Add a name here when a new route has one.
OPAQUE_QUERY = {"cursor"}
OPAQUE_HEADERS = {"if-match"}
# Body fields that must be a time in the future. Add a field here when a new route has one.
FUTURE_FIELDS = {"expires_at"}
# Rule 7: article times with an order to keep.
PUBLISH = ("POST", "/api/v1/admin/articles/{id}/publish")
LAST_SECOND = "9999-12-31T23:59:59Z"

BASE = os.environ.get("MASTHEAD_CONTRACT_URL", "").rstrip("/")
TOKEN = os.environ.get("MASTHEAD_CONTRACT_TOKEN", "")

ARTICLE_WRITES = {("POST", "/api/v1/admin/articles"), ("PATCH", "/api/v1/admin/articles/{id}")}
NEEDS_BODY = {
    ("POST", "/api/v1/admin/articles/{id}/publish"),
    ("POST", "/api/v1/admin/articles/{id}/schedule"),
}
COMMENT_POST = ("POST", "/api/v1/articles/{slug}/comments")
SITE_PATCH = ("PATCH", "/api/v1/admin/site")
IMAGE_UPLOAD = ("POST", "/api/v1/admin/images")
RENDITION = ("GET", "/media/{id}")
# MASTHEAD_IMAGE_WIDTHS / MASTHEAD_IMAGE_RATIOS defaults; the contract server runs with them.
WIDTHS = [320, 640, 960, 1280, 1920]
RATIOS = [(16, 9), (1, 1)]


def _png(grey: int) -> bytes:
    """A valid 1x1 greyscale PNG: a real image, built here rather than pasted as bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(bytes([0, grey]))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")

_cache: dict[str, object] = {}


def _is_positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def _negated_in_headers(case) -> bool:
    data = getattr(getattr(case, "meta", None), "phase", None)
    location = getattr(getattr(data, "data", None), "parameter_location", None)
    return location is None or getattr(location, "value", location) == "header"


def _parse_time(raw: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def _request(method: str, path: str, body: object = None, token: bool = False) -> object:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {TOKEN}"
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as res:
        raw = res.read()
    return json.loads(raw) if raw else None


def _tags() -> list[str]:
    """Slugs of tags that exist now."""
    return [t["slug"] for t in _request("GET", "/api/v1/tags?limit=10")["data"]]


def _image_ids() -> list[str]:
    """Ids of the heroes of published articles (read once): the server refuses to delete an
    image a published article uses (409), so they exist for the whole run, unlike images the
    run uploads itself."""
    if "images" not in _cache:
        articles = _request("GET", "/api/v1/articles?limit=100")["data"]
        heroes = [a["hero"]["image_id"] for a in articles if a.get("hero")]
        _cache["images"] = list(dict.fromkeys(heroes))
    return _cache["images"]  # type: ignore[return-value]


def _real_images(body: dict) -> dict:
    """The article write with every image reference pointing at an existing image."""
    images = _image_ids()
    if not images:
        return body
    body = dict(body)
    hero = body.get("hero")
    if isinstance(hero, dict) and "image_id" in hero:
        body["hero"] = {**hero, "image_id": images[0]}
    if isinstance(body.get("body"), list):
        body["body"] = [
            {**block, "image_id": images[i % len(images)]}
            if isinstance(block, dict) and block.get("type") == "image" and "image_id" in block
            else block
            for i, block in enumerate(body["body"])
        ]
    seo = body.get("seo")
    if isinstance(seo, dict) and isinstance(seo.get("og_image"), str) and seo["og_image"]:
        body["seo"] = {**seo, "og_image": images[-1]}
    return body


def _admin_id() -> str:
    if "admin" not in _cache:
        _cache["admin"] = _request("GET", "/api/v1/auth/me", token=True)["id"]
    return _cache["admin"]  # type: ignore[return-value]


def _open_slugs() -> list[str]:
    """Slugs of demo articles that take comments (read once)."""
    if "open" not in _cache:
        slugs = []
        for article in _request("GET", "/api/v1/articles?limit=100")["data"]:
            full = _request("GET", f"/api/v1/articles/{article['slug']}")
            if full.get("comments_enabled"):
                slugs.append(article["slug"])
        _cache["open"] = slugs
    return _cache["open"]  # type: ignore[return-value]


def _drop(container: MutableMapping, names: set[str]) -> None:
    for key in [k for k in container if k.lower() in names]:
        del container[key]


def _solve(question: str) -> int:
    match = re.fullmatch(r"\s*(-?\d+)\s*([+-])\s*(-?\d+)\s*=\s*\?\s*", question)
    if not match:
        raise ValueError(f"cannot solve challenge {question!r}")
    a, op, b = int(match[1]), match[2], int(match[3])
    return a + b if op == "+" else a - b


def _ensure_body(article_id: str) -> None:
    try:
        article = _request("GET", f"/api/v1/admin/articles/{article_id}", token=True)
    except urllib.error.HTTPError:
        return  # a 404 stays a 404
    if not article.get("body"):
        paragraph = {"type": "paragraph", "text": "Filed by the contract check."}
        _request("PATCH", f"/api/v1/admin/articles/{article_id}", {"body": [paragraph]}, token=True)


@schemathesis.hook
def map_case(context, case):
    return _adjust(case)


@schemathesis.hook
def before_add_examples(context, examples):
    # The examples phase does not run `map_case`: the spec's own examples (an article whose
    # image ids are placeholders, say) get the same adjustments here, in place.
    for i, case in enumerate(examples):
        examples[i] = _adjust(case)


def _adjust(case):
    # 1. Opaque tokens. `case.headers` is a case-insensitive mapping, not a dict. A negative
    # case whose invalid part is a header (e.g. a missing Authorization) is left as it is:
    # changing its headers would make Schemathesis re-validate them and send it as positive.
    if (
        isinstance(case.headers, MutableMapping)
        and any(k.lower() in OPAQUE_HEADERS for k in case.headers)
        and (_is_positive(case) or not _negated_in_headers(case))
    ):
        headers = case.headers.copy()
        _drop(headers, OPAQUE_HEADERS)
        case.headers = headers
    if not _is_positive(case):
        return case
    if isinstance(case.query, MutableMapping) and OPAQUE_QUERY & case.query.keys():
        case.query = {k: v for k, v in case.query.items() if k not in OPAQUE_QUERY}
    op = (case.method.upper(), case.path)
    # 2. Times that must lie ahead.
    if isinstance(case.body, dict):
        now = dt.datetime.now(dt.timezone.utc)
        for field in FUTURE_FIELDS & case.body.keys():
            value = case.body[field]
            if isinstance(value, str):
                parsed = _parse_time(value)
                if parsed is None or parsed <= now + dt.timedelta(minutes=1):
                    later = now + dt.timedelta(days=30)
                    case.body = {**case.body, field: later.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if not (BASE and TOKEN):
        return case
    # 7. Newsroom times.
    if op in ARTICLE_WRITES and isinstance(case.body, dict):
        body = dict(case.body)
        if isinstance(body.get("embargo_until"), str):
            yesterday = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
            body["embargo_until"] = yesterday.strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(body.get("unpublish_at"), str):
            body["unpublish_at"] = LAST_SECOND
        case.body = body
    if op == PUBLISH and isinstance(case.body, dict) and isinstance(case.body.get("published_at"), str):
        case.body = {**case.body, "published_at": "2019-05-01T08:00:00Z"}
    # 3. References that must exist.
    if op in ARTICLE_WRITES and isinstance(case.body, dict):
        body = dict(case.body)
        if isinstance(body.get("tags"), list) and body["tags"]:
            body["tags"] = _tags()[: len(body["tags"])]
        if isinstance(body.get("authors"), list) and body["authors"]:
            body["authors"] = [_admin_id()]
        case.body = _real_images(body)
    # 6. Images: references, uploads, rendition sizes.
    if op == SITE_PATCH and isinstance(case.body, dict) and isinstance(case.body.get("logo_image_id"), str):
        images = _image_ids()
        if images:
            case.body = {**case.body, "logo_image_id": images[0]}
    if op == IMAGE_UPLOAD and isinstance(case.body, dict) and "file" in case.body:
        case.body = {**case.body, "file": _png(random.randrange(256))}
    if op == RENDITION and isinstance(case.query, MutableMapping):
        query = dict(case.query)
        # `w` may be left out (the widest width, or the widest that `h` is a height of);
        # every height of the enum is a height of some default width.
        if "w" in query and query["w"] not in WIDTHS:
            query["w"] = WIDTHS[hash(str(query.get("w"))) % len(WIDTHS)]
        if "w" in query:
            heights = [round(query["w"] * rh / rw) for rw, rh in RATIOS]
        else:
            heights = sorted({round(w * rh / rw) for w in WIDTHS for rw, rh in RATIOS})
        if "h" in query and query["h"] not in heights:
            query["h"] = heights[hash(str(query["h"])) % len(heights)]
        case.query = query
    # 4. Comment challenges.
    if op == COMMENT_POST and isinstance(case.body, dict):
        open_slugs = _open_slugs()
        if open_slugs:
            case.path_parameters = {**case.path_parameters, "slug": open_slugs[0]}
        challenge = _request("GET", "/api/v1/comments/challenge")
        body = {k: v for k, v in case.body.items() if k != "parent_id"}
        body["challenge_token"] = challenge["token"]
        body["challenge_answer"] = _solve(challenge["question"])
        case.body = body
    return case


@schemathesis.hook
def before_call(context, case, **kwargs):
    # 5. Publishing needs a body.
    if not (BASE and TOKEN and _is_positive(case)) or (case.method.upper(), case.path) not in NEEDS_BODY:
        return
    article_id = (case.path_parameters or {}).get("id")
    if isinstance(article_id, str) and re.fullmatch(r"[0-9a-f-]{36}", article_id):
        _ensure_body(article_id)
