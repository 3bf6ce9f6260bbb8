"""``GET /api/stats``: rolling time series for charts, per hook or for the
fleet; ``GET /api/stats/hooks``: each hook's last hour at a glance."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app import access, services
from app.access import protect, scope
from workers.errors import InvalidRequest
from workers.store.stats.buckets import BUCKET_S, KEEP_S
from workers.store.stats.series import series
from workers.store.stats.summary import hook_summaries

__all__ = ["bp"]

bp = protect(Blueprint("stats_api", __name__, url_prefix="/api"))
_RANGES = {"15m": 900, "1h": 3600, "6h": 6 * 3600, "24h": KEEP_S}
# Default steps keep a chart at 60-100 points whatever the range.
_STEPS = {900: 60, 3600: 60, 6 * 3600: 300, KEEP_S: 900}


def _seconds(value: str | None, default: int, name: str) -> int:
    if not value:
        return default
    if value in _RANGES:
        return _RANGES[value]
    try:
        seconds = int(value)
    except ValueError:
        raise InvalidRequest(f"{name}: seconds, or one of {', '.join(_RANGES)}") from None
    if seconds < BUCKET_S:
        raise InvalidRequest(f"{name}: at least {BUCKET_S} seconds")
    return min(seconds, KEEP_S)


@bp.get("/stats")
@scope("stats:read")
def stats() -> Response:
    """``?hook=ID`` (default: the fleet, for the admin token; a project
    token names one of its hooks), ``range`` (15m, 1h, 6h, 24h or seconds;
    default 1h), ``step`` (seconds, whole minutes)."""
    range_s = _seconds(request.args.get("range"), 3600, "range")
    step_s = _seconds(request.args.get("step"), _STEPS.get(range_s, 60), "step")
    hook = request.args.get("hook") or None
    dispatcher = services.dispatcher()
    if hook is not None:
        access.hook(hook)  # 404 for an unknown hook, or another project's
    elif not access.principal().is_admin:  # the fleet's series would show every project
        raise InvalidRequest("hook: a project token reads one hook's series (?hook=ID)")
    data = series(dispatcher.redis, hook, range_s, step_s)
    data["enabled"] = services.settings().stats_enabled
    return jsonify(data)


@bp.get("/stats/hooks")
@scope("stats:read")
def hooks_summary() -> Response:
    """Per hook over the last hour: events, finished, failed, error rate,
    p95 duration and the last event's time."""
    dispatcher = services.dispatcher()
    who = access.principal()
    wanted = access.listed_project(request.args.get("project"))  # the admin's ?project=
    ids = sorted(
        h.id for h in dispatcher.hooks.list() if who.sees(h.project) and wanted in (None, h.project)
    )
    return jsonify({"windowS": 3600, "hooks": hook_summaries(dispatcher.redis, ids)})
