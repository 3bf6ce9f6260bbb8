"""Hook validation, in one place: a definition (JSON, camelCase) becomes a
``Hook`` or an ``InvalidHook`` naming the field. Used alike by the admin API,
test runs and hook files.

Checking the script's syntax starts V8 (``check_syntax``): call this only in
a process that may (never gunicorn's master before it forks).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workers.delivery.destinations import parse_callback_options
from workers.delivery.egress import OutboundError, callback_allowlist, check_url
from workers.errors import InvalidHook
from workers.ordering import parse_ordering
from workers.sandbox.syntax import check_syntax
from workers.settings import Settings
from workers.store.hooks import Hook, Limits
from workers.verify_validation import validate_verify

__all__ = ["validate_hook", "parse_hook", "HTTP_METHODS"]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MODES = ("sync", "async")
ISOLATIONS = ("warm", "fresh")
MAX_QUEUED = 1_000_000  # limits.maxQueued's ceiling
# A callbackUrl is checked (and its name resolved) when the hook is saved.
_LOOKUP_S = 5.0
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
# RFC 9110 5.1 field names (tokens) and 5.5 field values: no CR, LF or NUL
# (or other controls but tab), which would split or end the response head.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HEADER_VALUE = re.compile(r"^[^\x00-\x08\x0a-\x1f\x7f]*$")
_KNOWN_FIELDS = {
    "id",
    "script",
    "mode",
    "methods",
    "response",
    "callbackUrl",
    "callback",
    "secrets",
    "limits",
    "requestsToTrack",
    "retentionS",
    "enabled",
    "isolation",
    "idempotencyHeader",
    "verify",
    "route",
    "debugHeaders",
    "trace",
    "ordering",
    "shadow",
    # Read-only fields a client may echo back from GET; ignored on write.
    "version",
    "createdAt",
    "updatedAt",
    "secretNames",
}


def _expect(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise InvalidHook(name, message)


def _int_in(value: Any, name: str, low: int, high: int) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool), name, "must be an integer")
    _expect(low <= value <= high, name, f"must be between {low} and {high}")
    return value


def _parse_limits(raw: Any, settings: Settings) -> Limits:
    raw = {} if raw is None else raw
    _expect(isinstance(raw, dict), "limits", "must be an object")
    unknown = set(raw) - {"timeoutMs", "heapMb", "waitMs", "maxConcurrent", "maxQueued"}
    _expect(not unknown, "limits", f"unknown field(s) {', '.join(sorted(unknown))}")
    s = settings
    return Limits(
        timeout_ms=_int_in(
            raw.get("timeoutMs", s.default_timeout_ms), "limits.timeoutMs", 1, s.max_timeout_ms
        ),
        heap_mb=_int_in(raw.get("heapMb", s.default_heap_mb), "limits.heapMb", 2, s.max_heap_mb),
        wait_ms=_int_in(raw.get("waitMs", s.default_wait_ms), "limits.waitMs", 0, s.max_wait_ms),
        max_concurrent=_int_in(
            raw.get("maxConcurrent", s.default_max_concurrent), "limits.maxConcurrent", 1, 10_000
        ),
        max_queued=_int_in(
            raw.get("maxQueued", s.max_queued_per_hook), "limits.maxQueued", 1, MAX_QUEUED
        ),
    )


def _parse_response(raw: Any) -> dict[str, Any]:
    raw = {} if raw is None else raw
    _expect(isinstance(raw, dict), "response", "must be an object")
    unknown = set(raw) - {"statusCode", "headers", "body"}
    _expect(not unknown, "response", f"unknown field(s) {', '.join(sorted(unknown))}")
    if "statusCode" in raw:
        # Final statuses only: a 1xx desynchronises keep-alive connections.
        _int_in(raw["statusCode"], "response.statusCode", 200, 599)
    headers = raw.get("headers", {})
    _expect(isinstance(headers, dict), "response.headers", "must be an object")
    for name, value in headers.items():
        _expect(bool(_HEADER_NAME.match(name)), "response.headers", f"{name!r} is no header name")
        _expect(isinstance(value, str), f"response.headers.{name}", "must be a string")
        _expect(
            bool(_HEADER_VALUE.match(value)),
            f"response.headers.{name}",
            "must not contain CR, LF or other control characters",
        )
    return dict(raw)


# hooklet's own paths: a route never shadows them.
RESERVED_PATHS = ("/h/", "/api/", "/jobs/", "/healthz", "/readyz", "/metrics")
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _parse_route(raw: Any) -> dict[str, str] | None:
    """``{host?, path, pathType}``: where else the hook is served. Host and
    path are kept in lower case (matching ignores case, as secutils)."""
    if raw is None:
        return None
    _expect(isinstance(raw, dict), "route", "must be an object")
    unknown = set(raw) - {"host", "path", "pathType"}
    _expect(not unknown, "route", f"unknown field(s) {', '.join(sorted(unknown))}")
    host = raw.get("host", "")
    _expect(isinstance(host, str) and (host == "" or bool(_HOST.match(host.lower()))),
            "route.host", "must be a host name (no port)")  # fmt: skip
    path = raw.get("path")
    _expect(isinstance(path, str) and path.startswith("/") and len(path) <= 1024,
            "route.path", "must be a path starting with '/'")  # fmt: skip
    path = path.lower()
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    reserved = any(path == p.rstrip("/") or path.startswith(p) for p in RESERVED_PATHS)
    own = ", ".join(RESERVED_PATHS)
    _expect(not reserved, "route.path", f"must not be under hooklet's own paths ({own})")
    path_type = raw.get("pathType", "=")
    _expect(path_type in ("=", "^"), "route.pathType", "must be '=' (exact) or '^' (prefix)")
    return {"host": host.lower(), "path": path, "pathType": path_type}


def parse_hook(hook_id: str, data: Any, settings: Settings) -> Hook:
    """Validate a hook definition (JSON, camelCase) and build a ``Hook``.

    The script's syntax is checked separately (``sandbox.check_syntax``): that
    needs V8, which this module must not load.
    """
    _expect(isinstance(data, dict), "body", "must be a JSON object")
    _expect(bool(_SLUG.match(hook_id)), "id", "must be a slug: a-z, 0-9, '-' or '_', 1-64 chars")
    _expect(data.get("id", hook_id) == hook_id, "id", "does not match the URL")
    unknown = set(data) - _KNOWN_FIELDS
    _expect(not unknown, "body", f"unknown field(s) {', '.join(sorted(unknown))}")

    script = data.get("script")
    _expect(script is None or isinstance(script, str), "script", "must be a string")
    _expect(script is None or len(script) <= 256 * 1024, "script", "is over 256 KiB")
    mode = data.get("mode", "async")
    _expect(mode in MODES, "mode", f"must be one of {', '.join(MODES)}")
    methods = data.get("methods") or []
    _expect(isinstance(methods, list), "methods", "must be a list")
    methods = [str(m).upper() for m in methods]
    bad = [m for m in methods if m not in HTTP_METHODS]
    _expect(not bad, "methods", f"unknown method(s) {', '.join(bad)}")
    isolation = data.get("isolation", "warm")
    _expect(isolation in ISOLATIONS, "isolation", f"must be one of {', '.join(ISOLATIONS)}")
    enabled = data.get("enabled", True)
    _expect(isinstance(enabled, bool), "enabled", "must be true or false")
    secrets = data.get("secrets") or {}
    _expect(isinstance(secrets, dict), "secrets", "must be an object of strings")
    for name, value in secrets.items():
        _expect(isinstance(value, str), f"secrets.{name}", "must be a string")
    callback_url = data.get("callbackUrl")
    _expect(
        callback_url is None
        or (isinstance(callback_url, str) and callback_url.startswith(("http://", "https://"))),
        "callbackUrl",
        "must be an http(s) URL",
    )
    idem = data.get("idempotencyHeader")
    _expect(idem is None or isinstance(idem, str), "idempotencyHeader", "must be a header name")
    verify = data.get("verify")
    _expect(verify is None or isinstance(verify, dict), "verify", "must be an object")
    if verify is not None:
        verify = validate_verify(verify)
    debug_headers = data.get("debugHeaders", False)
    _expect(isinstance(debug_headers, bool), "debugHeaders", "must be true or false")

    return Hook(
        id=hook_id,
        script=script,
        mode=mode,
        methods=tuple(dict.fromkeys(methods)),
        response=_parse_response(data.get("response")),
        limits=_parse_limits(data.get("limits"), settings),
        requests_to_track=_int_in(
            data.get("requestsToTrack", settings.default_requests_to_track),
            "requestsToTrack",
            0,
            settings.max_requests_to_track,
        ),
        retention_s=(
            None
            if data.get("retentionS") is None
            else _int_in(data["retentionS"], "retentionS", 60, settings.max_retention_s)
        ),
        enabled=enabled,
        isolation=isolation,
        callback_url=callback_url,
        callback_rate_per_s=parse_callback_options(data.get("callback")),
        idempotency_header=idem.lower() if idem else None,
        verify=verify,
        secrets=dict(secrets),
        route=_parse_route(data.get("route")),
        debug_headers=debug_headers,
        trace=_parse_trace(data.get("trace")),
        ordering=parse_ordering(data.get("ordering"), mode),
        shadow_sample=_parse_shadow(data.get("shadow")),
    )


def _parse_shadow(raw: Any) -> float | None:
    """``shadow``: ``{"sample": 0.0-1.0}``, the share of live events the
    draft also runs on (workers/shadow); accepted without a draft, it does
    nothing until one is saved."""
    if raw is None:
        return None
    _expect(isinstance(raw, dict) and set(raw) == {"sample"}, "shadow",
            'must be {"sample": a number from 0 to 1}')  # fmt: skip
    sample = raw["sample"]
    _expect(isinstance(sample, int | float) and not isinstance(sample, bool),
            "shadow.sample", "must be a number")  # fmt: skip
    _expect(0.0 <= sample <= 1.0, "shadow.sample", "must be between 0 and 1")
    return float(sample)


_TRACE_FIELDS = ("continueIncoming", "propagate")


def _parse_trace(raw: Any) -> dict[str, bool]:
    """``trace``: join a sender's trace (``continueIncoming``), send
    ``traceparent`` out (``propagate``); both off by default (workers/tracing)."""
    raw = {} if raw is None else raw
    known = isinstance(raw, dict) and not set(raw) - set(_TRACE_FIELDS)
    _expect(known, "trace", "must be an object of continueIncoming and propagate")
    for name, value in raw.items():
        _expect(isinstance(value, bool), f"trace.{name}", "must be true or false")
    return {name: True for name in _TRACE_FIELDS if raw.get(name)}


def validate_hook(
    hook_id: str,
    data: Any,
    settings: Settings,
    check_script: Callable[[str], str | None] = check_syntax,
) -> Hook:
    """Parse a definition and check that its script compiles (422 otherwise).
    ``check_script`` returns the syntax error or None; the web side passes
    one that runs V8 in a helper process (app/syntax_checker.py)."""
    hook = parse_hook(hook_id, data, settings)
    if hook.callback_url is not None:
        try:
            check_url(hook.callback_url, callback_allowlist(settings), timeout_s=_LOOKUP_S)
        except OutboundError as exc:  # refused, or its name did not resolve in time
            raise InvalidHook("callbackUrl", str(exc)) from exc
    if hook.script is not None:
        error = check_script(hook.script)
        if error is not None:
            raise InvalidHook("script", error)
    return hook
