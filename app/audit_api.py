"""``GET /api/audit``: who changed what through the API (``tokens:write``):
``?project=&since=&action=&cursor=&limit=``, oldest first from ``since``
(default: as far back as kept, ``HOOKLET_AUDIT_RETENTION_S``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app import access
from app.access import protect, scope
from app.jobs_api import _limit, _time
from workers.errors import InvalidRequest, NotFound

__all__ = ["bp"]

bp = protect(Blueprint("audit_api", __name__, url_prefix="/api"))


@bp.get("/audit")
@scope("tokens:write")
def audit() -> Response:
    who = access.principal()
    wanted = request.args.get("project") or None
    if wanted is not None and not who.sees(wanted):
        raise NotFound(f"no project {wanted!r}")
    if who.project is not None:
        projects = [who.project]
    elif wanted is not None:
        projects = [wanted]
    else:
        projects = [p.id for p in access.projects().list()]
    cursor = request.args.get("cursor") or None
    if cursor is not None:
        entry, _, project = cursor.partition("/")
        ms, _, seq = entry.partition("-")
        if not (ms.isdigit() and seq.isdigit() and project):
            raise InvalidRequest("cursor: pass back the nextCursor of an earlier page")
    page = access.audit_log().read(
        projects,
        since=_time(request.args.get("since"), "since"),
        action=request.args.get("action") or None,
        cursor=cursor,
        limit=_limit(request.args.get("limit"), 100, 1000),
    )
    return jsonify({"entries": page.entries, "nextCursor": page.next_cursor})
