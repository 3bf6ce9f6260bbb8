"""Intake: ``ANY /h/<hook>[/<path>]`` turns a request into a queued event.

Async hooks answer ``202`` with the job's status URL once the event is in
Redis; sync hooks wait for the job and answer with the script's response.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from app import services
from app.console.cookie import CONSOLE_COOKIE, without_console_cookie
from app.dispatcher import Dispatcher
from app.hook_cache import CachedHook
from app.request_context import client_address, last_values, raw_target, strip_slash
from app.responses import accepted, sync_response
from workers import tracing
from workers.delivery.signatures import verify_request
from workers.errors import (
    HeadersTooLarge,
    HookChanged,
    HookDisabled,
    HookletError,
    HookNotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    SignatureInvalid,
)
from workers.hook_validation import HTTP_METHODS
from workers.ordering import order_key
from workers.store.hooks import Hook
from workers.store.jobs.records import EventRequest

__all__ = ["bp", "serve_hook"]

bp = Blueprint("intake", __name__)

# Refusals decided on the hook's definition. The first decision uses the
# process's cached copy, which may be stale, so these are decided once more on
# the stored hook before they are given.
_DECIDED_ON_HOOK = (HookNotFound, MethodNotAllowed, SignatureInvalid, HookChanged)


def event_request(prefix: str) -> EventRequest:
    """The request as the script's ``context`` will see it; ``prefix`` (e.g.
    ``/h/<hook>``) is cut from the path (request_context.py has the rules)."""
    settings = services.settings()
    req = request._get_current_object()  # noqa: SLF001 - one proxy lookup, not one per field
    if req.content_length is not None and req.content_length > settings.max_body_bytes:
        raise PayloadTooLarge(f"the body is over the limit of {settings.max_body_bytes} bytes")
    body = req.get_data()  # kept: a second decision reads it again
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"the body is over the limit of {settings.max_body_bytes} bytes")
    raw_path, raw_query = raw_target(req.environ)
    if prefix and raw_path.startswith(prefix):
        raw_path = raw_path[len(prefix) :]
    headers = request_headers(req.environ)
    size = sum(len(name) + len(value) for name, value in headers.items())
    if size > settings.max_header_bytes:
        raise HeadersTooLarge(
            f"the request headers are {size} bytes, over the limit of "
            f"{settings.max_header_bytes} bytes; nothing was stored"
        )
    return EventRequest(
        method=req.method,
        path=strip_slash(raw_path if raw_path.startswith("/") else "/" + raw_path),
        raw_query=raw_query,
        query=last_values(raw_query),
        headers=headers,
        client_address=client_address(req.environ, headers, settings.trusted_proxies),
        body=body,
    )


_BODY_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def request_headers(environ: dict) -> dict[str, str]:
    """The request's headers, names in lower case, read straight from the WSGI
    environ (as werkzeug's ``EnvironHeaders`` reads them, without building
    title-case names first). The server has already joined repeated headers."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            headers[key[5:].replace("_", "-").lower()] = value
        elif key in _BODY_HEADERS and value:
            headers[_BODY_HEADERS[key]] = value
    if CONSOLE_COOKIE in headers.get("cookie", ""):
        headers["cookie"] = without_console_cookie(headers["cookie"])
        if not headers["cookie"]:
            del headers["cookie"]
    return headers


def _check_hook(hook: Hook) -> None:
    if not hook.enabled:
        raise HookDisabled(f"no hook named {hook.id!r}")
    if not hook.allows(request.method):
        raise MethodNotAllowed(list(hook.methods))


@bp.route("/h/<hook_id>", defaults={"path": ""}, methods=list(HTTP_METHODS))
@bp.route("/h/<hook_id>/<path:path>", methods=list(HTTP_METHODS))
def intake(hook_id: str, path: str) -> Response:
    return serve_hook(hook_id, f"/h/{hook_id}")


def serve_hook(hook_id: str, prefix: str) -> Response:
    """Answer the current request with hook ``hook_id`` (``prefix``: what of
    the path is not the script's ``context.path``)."""
    dispatcher = services.dispatcher()
    started_ns = tracing.now_ns()
    try:
        cached = dispatcher.hook_cache.get(hook_id)
        with _span(cached.hook, started_ns) as span:
            try:
                response = _intake(dispatcher, cached, prefix, span)
            except _DECIDED_ON_HOOK:
                response = _intake(dispatcher, dispatcher.hook_cache.refresh(hook_id), prefix, span)
            span.answered(response.status_code)
            return response
    except HookletError as exc:
        # Unknown ids are not labels: anyone can invent them.
        label = hook_id if not isinstance(exc, HookNotFound) else "_unknown"
        dispatcher.count_refusal(label, exc.code)
        raise


def _span(hook: Hook, started_ns: int) -> Any:
    """The event's server span (``workers.tracing``; a no-op while tracing is off)."""
    if not started_ns:
        return tracing.NOOP
    incoming = request.environ.get("HTTP_TRACEPARENT")
    continues = hook.trace.get("continueIncoming", False)
    project = getattr(hook, "project", None)
    return tracing.intake(hook.id, request.method, incoming, continues, started_ns, project)


def _intake(dispatcher: Dispatcher, cached: CachedHook, prefix: str, span: Any) -> Response:
    hook = cached.hook
    _check_hook(hook)
    event = event_request(prefix)
    if hook.verify:
        verify_request(hook.verify, event.headers, event.body)
    key = idempotency_key(hook, event)
    options = {"hook_etag": cached.etag, "idempotency_key": key, "extra": span.job_fields()}
    options["quotas"] = dispatcher.hook_cache.quotas(hook.project)
    if hook.mode == "sync":
        submitted = dispatcher.submit(hook, event, take_slot=True, **options)
        span.job(submitted.job_id)
        if submitted.duplicate:
            # The original's answer if it has ended, else 202 with its status
            # URL, at once: a duplicate takes no slot, so it must not wait
            # either, or copies of one request would get round maxConcurrent.
            return sync_response(dispatcher, submitted.job_id, 0, debug=hook.debug_headers)
        return sync_response(
            dispatcher,
            submitted.job_id,
            hook.limits.wait_ms,
            release_slot_of=hook.id,
            debug=hook.debug_headers,
        )
    # Before anything is stored: a rejected missing key is a 422, never a 2xx.
    submitted = dispatcher.submit(hook, event, order_key=order_key(hook.ordering, event), **options)
    span.job(submitted.job_id)
    return accepted(submitted.job_id, status=200 if submitted.duplicate else 202)


def idempotency_key(hook: Hook, event: EventRequest) -> str | None:
    """The hook's own header (e.g. X-GitHub-Delivery), else Idempotency-Key,
    else webhook-id (Standard Webhooks). Whole: the key is hashed for Redis
    (``keys.idempotency``), never cut."""
    for name in (hook.idempotency_header, "idempotency-key", "webhook-id"):
        if name and event.headers.get(name):
            return event.headers[name]
    return None
