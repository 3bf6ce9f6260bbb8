"""Liveness and readiness for operators and load balancers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from app import services
from app.dispatcher import Dispatcher
from workers.store.connection import client_for

__all__ = ["bp"]

bp = Blueprint("health", __name__)
_PING_TIMEOUT_S = 1.0


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


def _memory(dispatcher: Dispatcher, problems: list[str]) -> dict[str, Any] | None:
    """Redis's memory against its budget; full (a problem) when over the
    high-water mark with no finished job left to trim."""
    try:
        pressure = dispatcher.budget.pressure()
        finished = dispatcher.budget.finished_jobs()
    except Exception:  # noqa: BLE001 - reported, not raised
        return None
    full = pressure.over and finished == 0
    if full:
        problems.append("redis is at its memory budget with no finished job to trim")
    return {
        "usedBytes": pressure.used_bytes,
        "maxBytes": pressure.max_bytes,
        "usedFraction": round(pressure.fraction, 4),
        "highWater": pressure.high_water,
        "overHighWater": pressure.over,
        "finishedJobs": finished,
        "full": full,
    }


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when Redis answers and at least one worker answers a ping."""
    dispatcher = services.dispatcher()
    problems = []
    try:
        # No retries: during a failover the probe says so at once.
        client_for(services.settings(), retries="probe").ping()
        redis_ok = True
    except Exception:  # noqa: BLE001 - any failure means not ready
        redis_ok = False
        problems.append("redis is unreachable")
    workers: list[str] = []
    memory = _memory(dispatcher, problems) if redis_ok else None
    if redis_ok:
        try:
            replies = dispatcher.celery.control.ping(timeout=_PING_TIMEOUT_S) or []
            workers = sorted(name for reply in replies for name in reply)
        except Exception:  # noqa: BLE001
            pass
        if not workers:
            problems.append("no worker answered a ping")
    body = {
        "status": "ready" if not problems else "unavailable",
        "redis": redis_ok,
        "workers": workers,
        "memory": memory,
        "problems": problems,
    }
    response = jsonify(body)
    if problems:
        response.status_code = 503
        response.headers["Retry-After"] = str(services.settings().retry_after_s)
    return response
