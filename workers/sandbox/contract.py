"""The secutils-compatible script contract: the ``context`` a script sees and
how its result combines with the hook's static ``response``."""

from __future__ import annotations

from typing import Any

import orjson

from workers.sandbox.results import RunResult
from workers.store.jobs.records import EventRequest, FailureReason

__all__ = [
    "apply_templates",
    "build_context",
    "error_response",
    "merge_response",
    "static_body",
]

DEFAULT_STATUS = 200


def build_context(
    request: EventRequest, secrets: dict[str, str], traceparent: str | None = None
) -> dict[str, Any]:
    """The global ``context``, as secutils builds it: ``rawQuery`` only when
    the URL had a ``?``, ``secrets`` only when there are any, ``clientAddress``
    only when known; hooklet adds ``traceparent`` (the run's span) while
    tracing is on. The body travels as a latin-1 string and the runtime
    turns it into an array of byte values."""
    context: dict[str, Any] = {}
    if request.client_address:
        context["clientAddress"] = request.client_address
    context["method"] = request.method
    context["headers"] = request.headers
    context["path"] = request.path
    if request.raw_query is not None:
        context["rawQuery"] = request.raw_query
    context["query"] = request.query
    context["body"] = request.body.decode("latin-1")
    if secrets:
        context["secrets"] = secrets
    if traceparent:
        context["traceparent"] = traceparent
    return context


def apply_templates(text: str, secrets: dict[str, str]) -> str:
    """secutils' ``${secrets.KEY}``: left to right, the key up to the first
    ``}``; a known key is replaced (its value is never expanded again), an
    unknown one stays as it is; no closing ``}`` ends the scan."""
    if not secrets or "${secrets." not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("${secrets.", pos)
        if start < 0:
            break
        end = text.find("}", start)
        if end < 0:
            break
        key = text[start + 10 : end]
        out.append(text[pos:start])
        out.append(secrets[key] if key in secrets else text[start : end + 1])
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


def static_body(response: dict[str, Any], secrets: dict[str, str] | None = None) -> bytes:
    """The static response's body as bytes (JSON when it is not a string)."""
    body = response.get("body")
    if body is None:
        return b""
    if isinstance(body, str):
        return apply_templates(body, secrets or {}).encode("utf-8")
    return orjson.dumps(body)


def merge_response(
    run: RunResult | None, response: dict[str, Any], secrets: dict[str, str] | None = None
) -> dict[str, Any]:
    """secutils' merge: each of status, headers and body the script returned
    replaces the static one whole (script headers replace all static
    headers); no header is added. Returns ``{"statusCode", "headers", "body"}``
    with ``body`` as bytes."""
    secrets = secrets or {}
    static_headers = response.get("headers", {})
    if run is not None and run.headers is not None:
        headers = dict(run.headers)
    else:
        headers = {k.lower(): apply_templates(v, secrets) for k, v in static_headers.items()}
    status = response.get("statusCode", DEFAULT_STATUS)
    if run is not None and run.status_code is not None:
        status = run.status_code
    if run is not None and run.body is not None:
        body = run.body
    else:
        body = static_body(response, secrets)
    return {"statusCode": status, "headers": headers, "body": body}


# secutils maps a failed script's error text to a status by substring, first
# rule first (webhooks_responders.rs); hooklet does the same.
_ERROR_STATUSES = (
    (("Script exceeded time limit", "Upstream request timed out"), 504),
    (("URL not allowed", "Failed to connect to upstream", "Upstream request failed"), 502),
    (("Upstream response body too large",), 413),
)
TIME_LIMIT_TEXT = "Script exceeded time limit."
MEMORY_LIMIT_TEXT = "Script exceeded memory limit."


def error_response(reason: str, error: str) -> tuple[int, str]:
    """The status and body a sync caller gets for a failed job. Time and
    memory terminations answer with secutils' texts (the job keeps
    hooklet's own reason and text); everything else by the error's text."""
    if reason == FailureReason.TIMEOUT.value:
        return 504, TIME_LIMIT_TEXT
    if reason == FailureReason.MEMORY.value:
        return 500, MEMORY_LIMIT_TEXT
    for needles, status in _ERROR_STATUSES:
        if any(needle in error for needle in needles):
            return status, error
    return 500, error
