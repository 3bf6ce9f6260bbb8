"""Per-key ordering of an async hook's events (issue 24): the hook's
``ordering`` block, and the key an event carries.

``{"key": SOURCE, "onFailure": "skip" | "block", "missing": "unordered" |
"reject"}``; SOURCE is ``header:<Name>``, ``query:<name>``,
``json:<dotted.path>`` (into a JSON body) or ``path`` (the sub-path after the
hook). Events of one hook with the same key run one at a time, in the order
the intake accepted them (the job store's CREATE and FINISH steps,
``workers/store/ordering/``); this module only reads the key.
"""

from __future__ import annotations

from typing import Any

import orjson

from workers.errors import HookletError, InvalidHook
from workers.store.jobs.records import EventRequest

__all__ = [
    "ON_FAILURE",
    "MISSING",
    "MAX_KEY_CHARS",
    "OrderingKeyMissing",
    "OrderingKeyTooLong",
    "KeyNotBlocked",
    "parse_ordering",
    "order_key",
    "placement",
]

ON_FAILURE = ("skip", "block")
MISSING = ("unordered", "reject")
MAX_KEY_CHARS = 1024  # a key is hashed for Redis; this bounds what a job stores of it
_SOURCES = ("header:", "query:", "json:")
_FIELDS = {"key", "onFailure", "missing"}


class OrderingKeyMissing(HookletError):
    """The hook orders its events by a key this request does not carry."""

    code, status = "ordering_key_missing", 422


class OrderingKeyTooLong(HookletError):
    """The request's ordering key is longer than ``MAX_KEY_CHARS``."""

    code, status = "ordering_key_too_long", 422


class KeyNotBlocked(HookletError):
    """The key is not blocked (nothing to resume), or its failed event is gone."""

    code, status = "key_not_blocked", 409


def parse_ordering(raw: Any, mode: str) -> dict[str, str] | None:
    """Validate a hook's ``ordering`` (``InvalidHook``, a 422, naming the
    field); returns it with its defaults, or None for none."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - _FIELDS:
        raise InvalidHook("ordering", "must be an object of key, onFailure and missing")
    if mode != "async":
        raise InvalidHook("ordering", "only an async hook can order its events")
    source = raw.get("key")
    valid = isinstance(source, str) and (
        source == "path" or any(source.startswith(p) and len(source) > len(p) for p in _SOURCES)
    )
    if not valid:
        raise InvalidHook(
            "ordering.key", "must be header:<Name>, query:<name>, json:<dotted.path> or path"
        )
    if source.startswith("json:") and "" in source[5:].split("."):
        raise InvalidHook("ordering.key", "json:<dotted.path> must not have empty parts")
    on_failure = raw.get("onFailure", "skip")
    if on_failure not in ON_FAILURE:
        raise InvalidHook("ordering.onFailure", f"must be one of {', '.join(ON_FAILURE)}")
    missing = raw.get("missing", "unordered")
    if missing not in MISSING:
        raise InvalidHook("ordering.missing", f"must be one of {', '.join(MISSING)}")
    return {"key": source, "onFailure": on_failure, "missing": missing}


def _json_value(body: bytes, path: str) -> str | None:
    try:
        value: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return orjson.dumps(value).decode()
    return None  # null, an object or a list is no key


def _read_key(source: str, event: EventRequest) -> str | None:
    if source == "path":
        return event.path if event.path not in ("", "/") else None
    kind, _, name = source.partition(":")
    if kind == "header":
        return event.headers.get(name.lower())
    if kind == "query":
        return event.query.get(name)
    return _json_value(event.body, name)


def order_key(ordering: dict[str, str] | None, event: EventRequest) -> str | None:
    """The event's ordering key, or None: it runs unordered (no ordering, or
    no key with ``missing: unordered``). Raises ``OrderingKeyMissing`` for
    ``missing: reject``, before anything is stored."""
    if not ordering:
        return None
    key = _read_key(ordering["key"], event)
    if not key:
        if ordering.get("missing") == "reject":
            raise OrderingKeyMissing(
                f"this hook orders its events by {ordering['key']}, which the request lacks; "
                "nothing was stored"
            )
        return None
    if len(key) > MAX_KEY_CHARS:
        raise OrderingKeyTooLong(
            f"the ordering key is over {MAX_KEY_CHARS} characters; nothing was stored"
        )
    return key


def placement(
    ordering: dict[str, str] | None, key: str | None, takeover: str | None = None
) -> dict[str, Any] | None:
    """The job store's ``Extras`` ordering fields for an event with ``key``
    (None: unordered). ``takeover``: a resume's rerun of this failed job takes
    its blocked key over (``KeyNotBlocked`` unless the job still blocks it)."""
    if key is None or not (ordering or takeover):
        return None
    # A rerun keeps blocking on failure if the hook has dropped its ordering since.
    block = (ordering or {}).get("onFailure", "block") == "block"
    return {"order_key": key, "order_block": block, "order_takeover": takeover}
