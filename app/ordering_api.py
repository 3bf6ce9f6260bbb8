"""Blocked ordering keys of a hook (issue 24): ``GET /api/hooks/<id>/keys``
lists them (``?blocked=true``, the only listing there is; paged by
``nextCursor``), ``GET /api/keys?blocked=true`` which hooks have any, and ``POST
/api/hooks/<id>/keys/<key>/resume`` lets a key go on: by default its failed
event runs again first, at the head of its key (a new job, ``replayOf`` the
failed one, that takes the key over); with ``{"skip": true}`` the key goes
on without it."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from app import access, services
from app.access import protect, scope
from app.admin import json_body
from app.jobs_api import _limit
from app.replays import hook_of
from workers.errors import InvalidRequest
from workers.ordering import KeyNotBlocked
from workers.store.jobs.records import EventRequest
from workers.store.ordering.store import OrderingStore

__all__ = ["bp", "ordering_store"]

bp = protect(Blueprint("ordering_api", __name__, url_prefix="/api"))
_MAX_PAGE = 1000  # blocked keys per page


class _KeyConverter(BaseConverter):
    """A key in the URL as sent, slashes and all: a ``path`` key starts with
    one (``/customers/42``), which Werkzeug's ``path`` converter refuses."""

    regex = ".+?"
    part_isolating = False


@bp.record_once  # before the routes: they are bound with it
def _key_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["order_key"] = _KeyConverter


def ordering_store() -> OrderingStore:
    ext = current_app.extensions
    if "hooklet.ordering" not in ext:
        ext["hooklet.ordering"] = OrderingStore(services.dispatcher().redis)
    return ext["hooklet.ordering"]


@bp.get("/keys")
@scope("jobs:read")
def hooks_with_blocked_keys() -> Response:
    """Which hooks have blocked keys, and how many: any hook, not only one
    that orders its events now (a key blocked before ``ordering`` was
    removed stays blocked until resumed)."""
    if request.args.get("blocked", "true") != "true":
        raise InvalidRequest("only blocked keys are listed: ?blocked=true")
    who = access.principal()
    wanted = access.listed_project(request.args.get("project"))
    hook_ids = [
        h.id
        for h in services.dispatcher().hooks.list()
        if who.sees(h.project) and wanted in (None, h.project)
    ]
    counts = ordering_store().blocked_counts(hook_ids)
    found = [{"hookId": h, "blockedKeys": n} for h, n in counts.items() if n]
    return jsonify({"hooks": found})


@bp.get("/hooks/<hook_id>/keys")
@scope("jobs:read")
def blocked_keys(hook_id: str) -> Response:
    access.hook(hook_id)  # 404 for another project's hook
    if request.args.get("blocked", "true") != "true":
        raise InvalidRequest("only blocked keys are listed: ?blocked=true")
    limit = _limit(request.args.get("limit"), _MAX_PAGE, _MAX_PAGE)
    found, last = ordering_store().blocked(hook_id, limit, _after(request.args.get("cursor")))
    cursor = f"{last[0]!r}:{last[1]}" if last else None
    return jsonify({"hookId": hook_id, "keys": [k.to_json() for k in found], "nextCursor": cursor})


def _after(cursor: str | None) -> tuple[float, str] | None:
    """A ``nextCursor`` handed out earlier: ``<since>:<key id>``."""
    if not cursor:
        return None
    since, _, key_id = cursor.partition(":")
    try:
        when = float(since)
    except ValueError:
        when = math.nan
    if not math.isfinite(when) or not key_id:
        raise InvalidRequest("cursor: pass back the nextCursor of an earlier page")
    return when, key_id


def _skip_wanted() -> bool:
    if not request.get_data():
        return False
    body = json_body()
    if not isinstance(body, dict) or set(body) - {"skip"}:
        raise InvalidRequest('send nothing, or {"skip": true|false}')
    skip = body.get("skip", False)
    if not isinstance(skip, bool):
        raise InvalidRequest("skip must be true or false")
    return skip


def _rerun(hook_id: str, key: str, failed: str) -> str:
    """The failed job again, as a new job that takes the blocked key over."""
    dispatcher = services.dispatcher()
    raw = dispatcher.jobs.get(failed)
    if raw is None:
        raise KeyNotBlocked(f"job {failed!r}, which blocks the key, is gone; resume with skip")
    hook, etag = hook_of(dispatcher.hooks, failed, raw)
    submitted = dispatcher.submit(
        hook,
        EventRequest.from_job(raw),
        extra={"replayOf": failed},
        hook_etag=etag,
        order_key=key,
        order_takeover=failed,
    )
    return submitted.job_id


# merge_slashes off: a key's own "//" (or its leading "/" after "keys/") stays.
@bp.post("/hooks/<hook_id>/keys/<order_key:key>/resume", merge_slashes=False)
@scope("jobs:write")
def resume(hook_id: str, key: str) -> Response:
    hook = access.hook(hook_id)
    skip = _skip_wanted()
    store = ordering_store()
    failed, blocked = store.holder(hook_id, key)
    if failed is None or not blocked:
        raise KeyNotBlocked(f"key {key!r} of hook {hook_id!r} is not blocked")
    answer: dict[str, Any] = {"hookId": hook_id, "key": key, "skipped": skip, "failedJobId": failed}
    if skip:
        done, next_job = store.resume_skipping(hook_id, key)
        if not done:
            raise KeyNotBlocked(f"key {key!r} of hook {hook_id!r} is not blocked")
        answer["nextJobId"] = next_job
    else:
        answer["rerunJobId"] = _rerun(hook_id, key, failed)
    detail = {"key": key, "skip": skip, "failedJobId": failed}
    access.audit("ordering.resume", hook_id, hook.project, detail=detail)
    return jsonify(answer)
