"""The secutils-compatible script contract: the ``context`` a script sees and
how its result combines with the hook's static ``response``."""

from __future__ import annotations

from typing import Any

import orjson

from workers.sandbox.isolate import RunResult
from workers.store.job_records import EventRequest

__all__ = ["build_context", "static_body", "merge_response"]

DEFAULT_STATUS = 200


def build_context(request: EventRequest, secrets: dict[str, str]) -> dict[str, Any]:
    """The global ``context``. The body travels as a latin-1 string and the
    runtime turns it into an array of byte values, as secutils passes it."""
    context: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "rawQuery": request.raw_query,
        "query": request.query,
        "headers": request.headers,
        "body": request.body.decode("latin-1"),
        "clientAddress": request.client_address,
    }
    if secrets:
        context["secrets"] = secrets
    return context


def static_body(response: dict[str, Any]) -> tuple[bytes, bool]:
    """The static response's body as bytes, and whether it was JSON."""
    body = response.get("body")
    if body is None:
        return b"", False
    if isinstance(body, str):
        return body.encode("utf-8"), False
    return orjson.dumps(body), True


def merge_response(run: RunResult | None, response: dict[str, Any]) -> dict[str, Any]:
    """Fill what the script left out from the static response.

    Returns ``{"statusCode", "headers", "body"}`` with ``body`` as bytes.
    """
    headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
    status = response.get("statusCode", DEFAULT_STATUS)
    body, is_json = static_body(response)
    if run is not None:
        if run.status_code is not None:
            status = run.status_code
        if run.headers is not None:
            headers = {**headers, **run.headers}
        if run.body is not None:
            body, is_json = run.body, run.body_is_json
    if is_json and "content-type" not in headers:
        headers["content-type"] = "application/json"
    return {"statusCode": status, "headers": headers, "body": body}
