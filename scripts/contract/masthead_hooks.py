"""Schemathesis hooks for Masthead's contract check (loaded via SCHEMATHESIS_HOOKS).

JSON Schema cannot express two rules the server rightly enforces, so a *positive* test case
(one Schemathesis promises is valid, and then checks the server accepts) is adjusted here to
respect them. Negative cases are left alone, and every status the server may answer with is
still documented in the spec. Each rule is listed in docs/api-contract.md; add new ones there.

1. Some optional inputs are opaque tokens that only the server can mint: the `cursor` query
   parameter (HMAC-signed `next_cursor` of the previous page; others get a documented 400)
   and the `If-Match` header (the resource's current ETag; others get a documented 412). Any
   string is schema-valid, but only a minted one is accepted, so positive cases omit them.
2. Request body fields named in FUTURE_FIELDS are RFC 3339 times that must lie in the future
   (an API key's `expires_at`, an article's `publish_at`); a past value gets a documented 422.
   Positive cases move a past value a month ahead.
"""

from __future__ import annotations

import datetime as dt

import schemathesis
from schemathesis import GenerationMode

# Optional inputs only the server can mint. Add a name here when a new route has one.
OPAQUE_QUERY = {"cursor"}
OPAQUE_HEADERS = {"if-match"}
# Body fields that must be a time in the future. Add a field here when a new route has one.
FUTURE_FIELDS = {"expires_at", "publish_at"}


def _is_positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def _parse_time(raw: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


@schemathesis.hook
def map_case(context, case):
    if not _is_positive(case):
        return case
    if isinstance(case.query, dict) and OPAQUE_QUERY & case.query.keys():
        case.query = {k: v for k, v in case.query.items() if k not in OPAQUE_QUERY}
    if isinstance(case.headers, dict) and any(k.lower() in OPAQUE_HEADERS for k in case.headers):
        case.headers = {k: v for k, v in case.headers.items() if k.lower() not in OPAQUE_HEADERS}
    if isinstance(case.body, dict):
        now = dt.datetime.now(dt.timezone.utc)
        for field in FUTURE_FIELDS & case.body.keys():
            value = case.body[field]
            if isinstance(value, str):
                parsed = _parse_time(value)
                if parsed is None or parsed <= now + dt.timedelta(minutes=1):
                    later = now + dt.timedelta(days=30)
                    case.body = {**case.body, field: later.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return case
