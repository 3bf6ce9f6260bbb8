"""Test runs: run a script on a sample request through a real worker, without
storing history. ``POST /api/hooks/<id>/test`` and ``POST /api/scripts/test``."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from flask import Blueprint, Response, jsonify

from app import access, services
from app.access import protect, scope
from app.admin import json_body
from app.responses import accepted
from workers.errors import InvalidRequest
from workers.hook_validation import validate_hook
from workers.store.jobs.records import EventRequest, JobStatus
from workers.store.jobs.view import render_job

__all__ = ["bp"]

bp = protect(Blueprint("dry_run", __name__, url_prefix="/api"))
_WAIT_MARGIN_MS = 10_000


def sample_request(data: Any) -> EventRequest:
    """Build an event from ``{"method", "path", "query"|"rawQuery", "headers",
    "body" (string or JSON) | "bodyBase64"}``; everything is optional."""
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise InvalidRequest("request: must be an object")
    query = _optional(data, "query", dict, "an object")
    raw_query = _optional(data, "rawQuery", str, "a string")
    headers = _optional(data, "headers", dict, "an object") or {}
    if raw_query is None and query:
        raw_query = urlencode(query)
    if query is None:
        query = dict(parse_qsl(raw_query or ""))
    body_base64 = _optional(data, "bodyBase64", str, "a string")  # null: absent, as elsewhere
    if body_base64 is not None:
        try:
            body = base64.b64decode(body_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("request.bodyBase64: must be base64") from None
    elif isinstance(data.get("body"), str):
        body = data["body"].encode()
    elif "body" in data:
        body = orjson.dumps(data["body"])
    else:
        body = b""
    path = _optional(data, "path", str, "a string") or "/"
    client = _optional(data, "clientAddress", str, "a string")
    return EventRequest(
        method=(_optional(data, "method", str, "a string") or "POST").upper(),
        path=path if path.startswith("/") else "/" + path,
        raw_query=raw_query,
        query={str(k): str(v) for k, v in query.items()},
        headers={str(k).lower(): str(v) for k, v in headers.items()},
        client_address="127.0.0.1" if client is None else client,
        body=body,
    )


def _optional(data: dict[str, Any], name: str, kind: type, what: str) -> Any:
    """``data[name]`` if it is a ``kind`` (None when absent), else a 400."""
    value = data.get(name)
    if value is not None and not isinstance(value, kind):
        raise InvalidRequest(f"request.{name}: must be {what}")
    return value


def _run(spec: dict[str, Any], request_data: Any, timeout_ms: int) -> Response:
    dispatcher = services.dispatcher()
    job_id = dispatcher.submit_inline(spec, sample_request(request_data), timeout_ms)
    raw = dispatcher.jobs.wait(job_id, (timeout_ms + _WAIT_MARGIN_MS) / 1000)
    if raw is None or not JobStatus(raw[b"status"].decode()).is_final:
        return accepted(job_id)
    job = render_job(raw, with_request=False)
    dispatcher.jobs.delete(job_id)
    keep = ("status", "reason", "error", "result", "logs", "durationMs", "scriptVersion")
    return jsonify({k: job[k] for k in keep})


@bp.post("/hooks/<hook_id>/test")
@scope("hooks:write")
def test_hook(hook_id: str) -> Response:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidRequest('send an object, e.g. {"request": {...}}')
    hook = access.hook(hook_id)
    spec = {
        "hookId": hook.id,
        "version": hook.version,
        "script": hook.script,
        "limits": hook.limits.to_json(),
        "response": hook.response,
        "secrets": hook.secrets,
    }
    return _run(spec, body.get("request"), hook.limits.timeout_ms)


@bp.post("/scripts/test")
@scope("hooks:write")
def test_script() -> Response:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidRequest("send an object with a script")
    definition = {k: body[k] for k in ("script", "limits", "response", "secrets") if k in body}
    hook = validate_hook("script-test", definition, services.settings(), services.syntax_checker())
    spec = {
        "script": hook.script,
        "limits": hook.limits.to_json(),
        "response": hook.response,
        "secrets": hook.secrets,
    }
    return _run(spec, body.get("request"), hook.limits.timeout_ms)
