"""Every error leaves as JSON ``{"error": {"code", "message"}}`` with the right status."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify
from kombu.exceptions import OperationalError
from werkzeug.exceptions import HTTPException

from app import services
from app.job_writer import UNREACHABLE
from workers.errors import HookletError, MethodNotAllowed, QueueFull, QueueUnavailable, StoreFull
from workers.store.budget import is_oom

__all__ = ["init_app", "error_response"]

log = logging.getLogger("hooklet.web")


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _hooklet_error(exc: HookletError) -> Response:
    response = error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(exc.allowed)
    retry_after = getattr(exc, "retry_after_s", None)
    if isinstance(exc, (QueueUnavailable, QueueFull)):
        retry_after = services.settings().retry_after_s
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hooklet"'
    return response


_CODES = {413: "payload_too_large"}  # one name whichever layer refuses the body


def _http_error(exc: HTTPException) -> Response:
    code = _CODES.get(exc.code or 500) or (exc.name or "error").lower().replace(" ", "_")
    response = error_response(exc.code or 500, code, exc.description or exc.name)
    for name in ("Allow", "Retry-After"):
        value = exc.get_response().headers.get(name)
        if value:
            response.headers[name] = value
    return response


def _redis_error(exc: Exception) -> Response:
    """Only a connection that failed is "Redis is unreachable" (503, try
    again); a write refused at maxmemory is ``StoreFull``; any other Redis
    error (a script's bug, a wrong argument) is ours: a 500, logged with its
    traceback, never passed off as an outage."""
    if is_oom(exc):  # a write refused at maxmemory: never a 500, never Redis's text
        log.warning("redis is at its memory budget: %s", exc)
        return _hooklet_error(StoreFull("Redis is at its memory budget; try again shortly"))
    if isinstance(exc, UNREACHABLE):
        log.warning("redis unavailable: %s", exc)
        return _hooklet_error(QueueUnavailable("Redis is unreachable; try again shortly"))
    return _unexpected(exc)


def _broker_down(exc: Exception) -> Response:
    log.warning("the broker is unavailable: %s", exc)
    return _hooklet_error(QueueUnavailable("Redis is unreachable; try again shortly"))


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(500, "internal", "internal error; see the server log")


def init_app(app: Flask) -> None:
    app.register_error_handler(HookletError, _hooklet_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(redis.RedisError, _redis_error)
    app.register_error_handler(OperationalError, _broker_down)
    app.register_error_handler(Exception, _unexpected)
