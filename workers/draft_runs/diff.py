"""How a draft run's answer (a try or a shadow run, issue 25) differs from
the one a job stored: status, headers and body, the body compared value by
value when both sides are JSON. Pure functions over job fields."""

from __future__ import annotations

from typing import Any

import orjson

from workers.store.jobs.records import encode_body, result_body

__all__ = ["answer_of", "diff"]

_MAX_CHANGES = 50
_MAX_TEXT = 4096
_MISSING = object()


def answer_of(raw: dict[bytes, bytes]) -> dict[str, Any]:
    """What a finished job answered (or why it failed), comparable as a whole."""
    answer: dict[str, Any] = {"status": (raw.get(b"status") or b"").decode()}
    if b"result" in raw:
        result = orjson.loads(raw[b"result"])
        answer.update(
            statusCode=result.get("statusCode"),
            headers=result.get("headers") or {},
            body=result_body(raw),
        )
    for name in ("reason", "error"):
        if name.encode() in raw:
            answer[name] = raw[name.encode()].decode()
    return answer


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The differences between two answers ({} when they are the same)."""
    out: dict[str, Any] = {}
    for name in ("status", "reason", "error", "statusCode"):
        if before.get(name) != after.get(name):
            out[name] = {"stored": before.get(name), "draft": after.get(name)}
    headers_before, headers_after = before.get("headers") or {}, after.get("headers") or {}
    headers = {
        name: {"stored": headers_before.get(name), "draft": headers_after.get(name)}
        for name in sorted(set(headers_before) | set(headers_after))
        if headers_before.get(name) != headers_after.get(name)
    }
    if headers:
        out["headers"] = headers
    body_before, body_after = before.get("body", b""), after.get("body", b"")
    if body_before != body_after:
        out["body"] = _body_diff(body_before, body_after)
    return out


def _body_diff(before: bytes, after: bytes) -> dict[str, Any]:
    try:
        old, new = orjson.loads(before), orjson.loads(after)
    except orjson.JSONDecodeError:
        return {"stored": _text(before), "draft": _text(after)}
    changes: list[dict[str, Any]] = []
    _walk("$", old, new, changes)
    if not changes:  # the same value, spelled differently (spacing, key order)
        return {"json": True, "changes": [], "note": "same JSON value, different bytes"}
    return {"json": True, "changes": changes[:_MAX_CHANGES], "more": len(changes) > _MAX_CHANGES}


def _walk(path: str, old: Any, new: Any, changes: list[dict[str, Any]]) -> None:
    if len(changes) > _MAX_CHANGES:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            _walk(f"{path}.{key}", old.get(key, _MISSING), new.get(key, _MISSING), changes)
        return
    if isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            left = old[i] if i < len(old) else _MISSING
            right = new[i] if i < len(new) else _MISSING
            _walk(f"{path}[{i}]", left, right, changes)
        return
    if old is _MISSING or new is _MISSING or old != new or type(old) is not type(new):
        change: dict[str, Any] = {"path": path}
        if old is not _MISSING:
            change["stored"] = old
        if new is not _MISSING:
            change["draft"] = new
        changes.append(change)


def _text(body: bytes) -> dict[str, Any]:
    text, encoding = encode_body(body[:_MAX_TEXT])
    return {"body": text, "bodyEncoding": encoding, "bytes": len(body)}
