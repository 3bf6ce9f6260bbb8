"""The public JSON view of a job, as ``GET /jobs/<id>``, the history and
callbacks show it."""

from __future__ import annotations

import re
import time
from typing import Any

import orjson

from workers.store.jobs.records import encode_body, result_body, unpacked
from workers.store.jobs.redaction import redact_headers

__all__ = ["render_job", "iso_time"]

# What a sender may see of a failed delivery attempt: a short category
# ("timeout", "HTTP 500"); anything else (older records) shows as "error".
_CATEGORY = re.compile(r"(HTTP [1-5][0-9][0-9]|[a-z][a-z ]{0,39})")


def _text(raw: dict[bytes, bytes], name: str) -> str | None:
    value = raw.get(name.encode())
    return None if value is None else value.decode()


def _number(raw: dict[bytes, bytes], name: str) -> float | None:
    value = raw.get(name.encode())
    return None if value is None else float(value)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def iso_time(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds, as jobs show times."""
    return _iso(ts)


def _attempts(raw: dict[bytes, bytes], admin: bool) -> list[dict[str, Any]]:
    """Delivery attempts; only the admin view keeps ``errorDetail`` (which
    names the callback's host, port and path)."""
    attempts = orjson.loads(raw[b"deliveries"]) if b"deliveries" in raw else []
    if admin:
        return attempts
    for attempt in attempts:
        attempt.pop("errorDetail", None)
        error = attempt.get("error")
        if error is not None and not _CATEGORY.fullmatch(str(error)):
            attempt["error"] = "error"
    return attempts


def _outbound(stored: bytes, admin: bool) -> list[dict[str, Any]]:
    """A script's outbound requests. URLs never carry a query; the public view
    keeps only their origin (a chat webhook's path is often its secret)."""
    calls = orjson.loads(stored)
    if not admin:
        for call in calls:
            scheme, _, rest = str(call.get("url", "")).partition("://")
            call["url"] = f"{scheme}://{rest.split('/', 1)[0]}"
            call.pop("error", None)
    return calls


def render_job(
    raw: dict[bytes, bytes], *, with_request: bool = True, admin: bool = False
) -> dict[str, Any]:
    """The JSON view of a job: public (``GET /jobs/<id>``, callbacks) or,
    with ``admin``, the hook owner's (history, HAR) with delivery details."""
    view: dict[str, Any] = {
        "jobId": _text(raw, "id"),
        "hookId": _text(raw, "hookId") or None,
        "status": _text(raw, "status"),
        "reason": _text(raw, "reason"),
        "error": _text(raw, "error"),
        "scriptVersion": int(raw[b"version"]) if raw.get(b"version") else None,
        "attempts": int(raw.get(b"attempts", b"0")),
        "worker": _text(raw, "worker"),
        "createdAt": _iso(_number(raw, "createdAt")),
        "startedAt": _iso(_number(raw, "startedAt")),
        "finishedAt": _iso(_number(raw, "finishedAt")),
        "durationMs": _number(raw, "durationMs"),
        "logs": orjson.loads(raw[b"logs"]) if b"logs" in raw else [],
        "result": None,
    }
    if b"result" in raw:
        result = orjson.loads(raw[b"result"])
        body, encoding = encode_body(result_body(raw))
        view["result"] = {**result, "body": body, "bodyEncoding": encoding}
    if b"deliveryStatus" in raw:
        view["delivery"] = {
            "status": _text(raw, "deliveryStatus"),
            "attempts": _attempts(raw, admin),
            "nextAttemptAt": _iso(_number(raw, "deliveryNextAt")),
        }
    if b"outbound" in raw:
        view["outbound"] = _outbound(raw[b"outbound"], admin)
    if b"replayable" in raw:  # a run whose tape could not be kept (sandbox/tape.py)
        view["replayable"] = False
        view["notReplayableReason"] = _text(raw, "tapeSkipped")
    for name in ("replayOf", "replayedBy", "orderKey", "blockedBy"):
        if name.encode() in raw:
            view[name] = _text(raw, name)
    if b"traceparent" in raw:  # "00-<trace id>-<span id>-<flags>", written by the intake
        view["traceId"] = raw[b"traceparent"][3:35].decode()
    meta = unpacked(raw, "request") if with_request else None
    if meta is not None:
        request = orjson.loads(meta)
        body, encoding = encode_body(unpacked(raw, "body") or b"")
        if not admin:  # whoever holds the job's URL sees no sender credentials
            request["headers"] = redact_headers(request["headers"])
        view["request"] = {**request, "body": body, "bodyEncoding": encoding}
    return view
