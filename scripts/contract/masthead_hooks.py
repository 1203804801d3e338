"""Schemathesis hooks for Masthead's contract check (loaded via SCHEMATHESIS_HOOKS).

JSON Schema cannot express two rules the server rightly enforces, so a *positive* test case
(one Schemathesis promises is valid, and then checks the server accepts) is adjusted here to
respect them. Negative cases are left alone, and every status the server may answer with is
still documented in the spec. Each rule is listed in docs/api-contract.md; add new ones there.

1. `cursor` query parameters are opaque, HMAC-signed tokens that only the server can mint
   (`next_cursor` of the previous page). Any string is schema-valid, but only a minted one is
   accepted; others get a documented 400. Positive cases therefore omit `cursor`.
2. Request body fields named in FUTURE_FIELDS are RFC 3339 times that must lie in the future
   (an API key's `expires_at`, an article's `publish_at`); a past value gets a documented 422.
   Positive cases move a past value a month ahead.
"""

from __future__ import annotations

import datetime as dt

import schemathesis
from schemathesis import GenerationMode

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
    if isinstance(case.query, dict) and "cursor" in case.query:
        case.query = {k: v for k, v in case.query.items() if k != "cursor"}
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
