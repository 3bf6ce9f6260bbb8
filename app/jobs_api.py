"""``/api/jobs``: search jobs across hooks (dead letters are ``status=failed``),
read one, and replay or redeliver many, by ids or by the search's filter.

Bulk calls are bounded (``HOOKLET_BULK_MAX_JOBS`` per call) and answer a dry
run with the count first. Each replay is a new job with ``replayOf``; the
original gets ``replayedBy``, so a bulk replay by filter skips jobs already
replayed unless the filter says ``"replayed": true``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from app import access, services
from app.access import protect, scope
from app.admin import json_body
from workers.errors import HookletError, InvalidRequest
from workers.store.access.membership import job_project
from workers.store.jobs.records import FailureReason, JobStatus
from workers.store.jobs.search import JobFilter, count, parse_since, search
from workers.store.jobs.view import render_job

__all__ = ["bp", "parse_filter"]

bp = protect(Blueprint("jobs_api", __name__, url_prefix="/api"))
_MAX_PAGE = 500
_DELIVERY = ("pending", "succeeded", "failed")


def _time(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    when: float | None = None
    try:
        when = parse_since(str(value))
    except ValueError:
        try:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    # nan and inf parse as floats, but are no time (Redis refuses nan)
    if when is None or not math.isfinite(when):
        raise InvalidRequest(f"{name}: use e.g. 1h, 30m, epoch seconds or ISO 8601")
    return when


def _cursor(value: Any) -> str | None:
    """A ``nextCursor`` handed out earlier (``<score>:<job id>``), checked
    before it reaches the search."""
    if value in (None, ""):
        return None
    score, _, job_id = value.partition(":") if isinstance(value, str) else ("", "", "")
    try:
        finite = math.isfinite(float(score))
    except ValueError:
        finite = False
    if not finite or not job_id:
        raise InvalidRequest("cursor: pass back the nextCursor of an earlier page")
    return value


def _choice(data: Mapping[str, Any], name: str, allowed: list[str] | tuple[str, ...]) -> Any:
    value = data.get(name) or None
    if value is not None and value not in allowed:
        raise InvalidRequest(f"{name}: one of {', '.join(allowed)}")
    return value


def parse_filter(data: Mapping[str, Any]) -> JobFilter:
    """A ``JobFilter`` from query arguments or a JSON object, narrowed to the
    caller's project (a project token never sees another's jobs)."""
    replayed = data.get("replayed")
    if isinstance(replayed, str):
        replayed = {"true": True, "false": False, "": None}.get(replayed.lower(), "bad")
    if replayed not in (None, True, False):
        raise InvalidRequest("replayed: true or false")
    hook = data.get("hook") or None
    if hook is not None and not isinstance(hook, str):
        raise InvalidRequest("hook: a hook id")
    return JobFilter(
        hook=hook,
        status=_choice(data, "status", [s.value for s in JobStatus]),
        reason=_choice(data, "reason", [r.value for r in FailureReason]),
        delivery=_choice(data, "delivery", _DELIVERY),
        since=_time(data.get("since"), "since"),
        until=_time(data.get("until"), "until"),
        replayed=replayed,
        project=access.listed_project(_project_arg(data.get("project"))),
    )


def _project_arg(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequest("project: a project id")
    return value or None


def _limit(value: Any, default: int, maximum: int) -> int:
    try:
        limit = int(value) if value not in (None, "") else default
    except (TypeError, ValueError, OverflowError):
        raise InvalidRequest("limit: a whole number") from None
    if limit < 1:
        raise InvalidRequest("limit: at least 1")
    return min(limit, maximum)


@bp.get("/jobs")
@scope("jobs:read")
def list_jobs() -> Response:
    """Jobs matching the filter, newest first, with ``nextCursor``."""
    flt = parse_filter(request.args)
    limit = _limit(request.args.get("limit"), 50, _MAX_PAGE)
    cursor = _cursor(request.args.get("cursor"))
    page = search(services.dispatcher().redis, flt, limit, cursor)
    return jsonify({"jobs": page.jobs, "nextCursor": page.next_cursor})


@bp.get("/jobs/<job_id>")
@scope("jobs:read")
def get_job(job_id: str) -> Response:
    raw = access.job(job_id)  # 404 for another project's, as for a missing one
    return jsonify(render_job(raw, admin=True))


def _bulk(action: str, run: Callable[[str], dict[str, Any]], default: dict[str, Any]) -> Response:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidRequest('send an object: {"ids": [...]} or {"filter": {...}}')
    bound = services.settings().bulk_max_jobs
    limit = _limit(body.get("limit"), bound, bound)
    dry_run = bool(body.get("dryRun"))
    client = services.dispatcher().redis
    ids, cursor = body.get("ids"), None
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidRequest("ids: a list of job ids")
        if len(ids) > bound:
            raise InvalidRequest(f"ids: at most {bound} per call")
        if dry_run:
            who = access.principal()
            found = services.dispatcher().jobs.get_many(ids)
            found = [raw for raw in found if who.sees(job_project(raw))]
            return jsonify({"dryRun": True, "matched": len(found), "capped": False, "max": bound})
    else:
        given = body.get("filter")
        if not isinstance(given, dict):
            raise InvalidRequest('send "ids" or a "filter" object')
        flt = parse_filter({**default, **given})
        cursor = _cursor(body.get("cursor"))
        if dry_run:
            matched, capped = count(client, flt)
            return jsonify({"dryRun": True, "matched": matched, "capped": capped, "max": bound})
        page = search(client, flt, limit, cursor)
        ids, cursor = [job["jobId"] for job in page.jobs], page.next_cursor
    done, failed = [], []
    per_project: dict[str, list[str]] = {}
    for job_id in ids[:limit]:
        try:
            project = job_project(access.job(job_id))  # another project's: job_not_found
            done.append({"jobId": job_id, **run(job_id)})
            per_project.setdefault(project, []).append(job_id)
        except HookletError as exc:
            failed.append({"jobId": job_id, "error": {"code": exc.code, "message": exc.message}})
    for project, job_ids in per_project.items():
        verb = {"replayed": "replay", "redelivered": "redeliver"}[action]
        detail = {"jobIds": job_ids}
        access.audit(f"jobs.bulk-{verb}", f"{len(job_ids)} jobs", project, detail=detail)
    return jsonify({action: done, "failed": failed, "nextCursor": cursor, "max": bound})


@bp.post("/jobs/replay")
@scope("jobs:write")
def replay_many() -> Response:
    """Run many stored events again; each becomes a new job with ``replayOf``."""
    dispatcher = services.dispatcher()
    return _bulk(
        "replayed", lambda job_id: {"newJobId": dispatcher.replay(job_id)}, {"replayed": False}
    )


@bp.post("/jobs/redeliver")
@scope("jobs:write")
def redeliver_many() -> Response:
    """Send many finished jobs' callbacks again (default filter: failed deliveries)."""
    dispatcher = services.dispatcher()

    def redeliver(job_id: str) -> dict[str, Any]:
        dispatcher.redeliver(job_id)
        return {"delivery": "queued"}

    return _bulk("redelivered", redeliver, {"delivery": "failed"})
