"""Liveness and readiness for operators and load balancers.

Both routes are unauthenticated, so both are cheap and bounded whatever the
load and whatever the fleet's size. ``/readyz`` never talks to Celery (a
broadcast ping per call wedged the web process under a burst of probes): it
reads what the worker nodes report to Redis themselves (``store.nodes``) in
one pipelined round trip, on a client that gives up within about a second
(``retries="probe"``), so a slow Redis makes it answer 503 quickly rather than
hang. One reading is shared for a moment by every call in the process, and
only one call at a time takes it: a flood of probes costs Redis a few round
trips a second.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from app import services
from app.shared_reading import shared
from workers.settings import Settings
from workers.store import keys
from workers.store.budget import Pressure
from workers.store.connection import client_for
from workers.store.nodes import reported_since

__all__ = ["bp"]

bp = Blueprint("health", __name__)

_FRESH_S = 0.25  # a reading answers every call for this long
_WAIT_S = 3.0  # longest a call waits for another's reading (it takes ~1 s at worst)
_POOL = 2  # Redis connections the probe may hold per process
_NAMES_SHOWN = 10  # worker node names in the answer (the count is whole)
NO_WORKER = "no worker node has reported lately"


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


def _memory(info: dict[str, Any], finished: int, settings: Settings) -> dict[str, Any]:
    """Redis's memory against its budget; full when over the high-water mark
    with no finished job left to trim."""
    pressure = Pressure(
        int(info["used_memory"]), int(info.get("maxmemory", 0)), settings.redis_high_water
    )
    return {
        "usedBytes": pressure.used_bytes,
        "maxBytes": pressure.max_bytes,
        "usedFraction": round(pressure.fraction, 4),
        "highWater": pressure.high_water,
        "overHighWater": pressure.over,
        "finishedJobs": finished,
        "full": pressure.over and finished == 0,
    }


def _unknown(problem: str) -> dict[str, Any]:
    return {"redis": False, "workers": [], "workerNodes": 0, "memory": None, "problems": [problem]}


def _reading(settings: Settings) -> dict[str, Any]:
    """Redis, the memory budget and the live worker nodes, in one round trip."""
    since = reported_since()
    try:
        # No retries and a short timeout: during a failover, or with a Redis
        # that does not answer, the probe says so at once.
        client = client_for(settings, retries="probe", max_connections=_POOL)
        with client.pipeline(transaction=False) as pipe:
            pipe.ping()
            pipe.info("memory")
            pipe.zcard(keys.finished())
            pipe.zcount(keys.nodes(), since, "+inf")
            pipe.zrevrangebyscore(keys.nodes(), "+inf", since, start=0, num=_NAMES_SHOWN)
            _, info, finished, node_count, names = pipe.execute()
    except Exception:  # noqa: BLE001 - any failure means not ready
        return _unknown("redis is unreachable")
    memory = _memory(info, int(finished), settings)
    problems = []
    if memory["full"]:
        problems.append("redis is at its memory budget with no finished job to trim")
    if not node_count:
        problems.append(NO_WORKER)
    return {
        "redis": True,
        "workers": sorted(name.decode() for name in names),
        "workerNodes": int(node_count),
        "memory": memory,
        "problems": problems,
    }


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when Redis answers, is not full, and a worker node reported lately."""
    settings = services.settings()
    reading = shared("readiness", _FRESH_S, _WAIT_S).get(
        lambda: _reading(settings), lambda: _unknown("the readiness check is busy")
    )
    response = jsonify({"status": "unavailable" if reading["problems"] else "ready", **reading})
    if reading["problems"]:
        response.status_code = 503
        response.headers["Retry-After"] = str(settings.retry_after_s)
    return response
