"""``GET /api/destinations``: callback destinations (scheme, host and port)
with their circuit breaker's state, failure streak, queued deliveries and
last error category. Admin only: a destination is shared by every project
whose hooks call it."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify

from app import services
from app.access import protect
from workers.store.destinations.reads import list_destinations

__all__ = ["bp"]

bp = protect(Blueprint("destinations", __name__, url_prefix="/api"))


@bp.get("/destinations")
def destinations() -> Response:
    found = list_destinations(services.dispatcher().redis)
    return jsonify({"destinations": [d.to_json() for d in found], "at": time.time()})
