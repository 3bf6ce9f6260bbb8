"""Turning jobs into HTTP responses: ``202`` for queued work, or, for sync
hooks, the script's own response once the job ends."""

from __future__ import annotations

import logging

import orjson
import redis
from flask import Response

from app.console.cookie import SET_COOKIE_HEADERS, sets_console_cookie
from app.dispatcher import Dispatcher
from workers.sandbox.contract import error_response
from workers.store.jobs.records import JobStatus, result_body

__all__ = ["accepted", "sync_response", "HOP_BY_HOP"]

log = logging.getLogger("hooklet.web")

# RFC 9110 7.6.1 connection-specific headers, plus what the server computes.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
        "content-length",
        "date",
        "server",
    }
)


def accepted(job_id: str, status: int = 202) -> Response:
    status_url = f"/jobs/{job_id}"
    return Response(
        orjson.dumps({"jobId": job_id, "statusUrl": status_url}),
        status=status,
        headers={"Location": status_url},
        mimetype="application/json",
    )


def sync_response(
    dispatcher: Dispatcher,
    job_id: str,
    wait_ms: int,
    *,
    release_slot_of: str | None = None,
    debug: bool = False,
) -> Response:
    """Wait (blocking on Redis, no sleeps) for the job, then answer as secutils
    does: the script's response, 504 on a time limit, 500 with the error text
    otherwise. If the wait budget runs out, 202 with the status URL; so too if
    Redis goes away during the wait: the event is stored (it was written
    before the wait) and runs when Redis is back. The sync slot of
    ``release_slot_of`` is given back, whatever happens. ``debug`` (the
    hook's ``debugHeaders``) adds ``X-Hooklet-Job`` and ``Server-Timing``."""
    try:
        raw = dispatcher.wait_for(job_id, wait_ms / 1000, release_slot_of=release_slot_of)
    except (redis.RedisError, OSError) as exc:
        log.warning("the wait for job %s was cut short: %s; answering 202", job_id, exc)
        return accepted(job_id)
    status = JobStatus(raw[b"status"].decode()) if raw else JobStatus.QUEUED
    if raw is None or not status.is_final:
        return accepted(job_id)
    if status is JobStatus.FAILED:
        reason = raw.get(b"reason", b"error").decode()
        error = raw.get(b"error", b"script failed").decode()
        code, text = error_response(reason, error)
        return _annotate(Response(text, status=code, mimetype="text/plain"), job_id, raw, debug)
    result = orjson.loads(raw[b"result"])
    response = Response(result_body(raw), status=result["statusCode"])
    response.headers.remove("Content-Type")
    for name, value in result["headers"].items():
        if _passes(name.lower(), value):
            response.headers[name] = value
    return _annotate(response, job_id, raw, debug)


def _passes(name: str, value: str) -> bool:
    """A script's header goes out unless the server computes it or it would
    set the console's session cookie (app/console/cookie.py)."""
    if name in HOP_BY_HOP:
        return False
    if name in SET_COOKIE_HEADERS and sets_console_cookie(value):
        log.info("dropped a hook's Set-Cookie for the console's cookie")
        return False
    return True


def _annotate(response: Response, job_id: str, raw: dict[bytes, bytes], debug: bool) -> Response:
    """Name the job, and say how long the script ran (Server-Timing), when the
    hook asks for it: the job id hands its logs to whoever called, and the
    timing measures the script to the microsecond."""
    if not debug:
        return response
    response.headers["X-Hooklet-Job"] = job_id
    duration = raw.get(b"durationMs")
    if duration is not None:
        response.headers["Server-Timing"] = f"script;dur={float(duration):.3f}"
    return response
