"""``POST /api/hooks/<id>/draft/try`` (issue 25 item 3): run the hook's draft
on recorded events with each event's tape answering its host calls, clock and
randomness, and say how each answer compares with the one stored.

Runs go through the workers as test runs do (``Dispatcher.submit_inline``:
no history, no callback, deleted once read) with the tape in the inline
spec, so a ``TapePlayer`` answers every call: nothing leaves the sandbox.
A job whose draft answer is not ``same`` is run again with the version it
ran; if that does not give back the stored answer either, the job is
``nondeterministic`` (its tape misses something the script depends on).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, jsonify

from app import access, services
from app.access import protect, scope
from app.admin import json_body
from app.jobs_api import parse_filter
from workers.draft_runs.verdict import has_tape, replay_inline, tape_of, version_of
from workers.draft_runs.verdict import verdict as _verdict
from workers.errors import InvalidRequest
from workers.store.access.membership import job_project
from workers.store.drafts import DraftStore
from workers.store.hooks import Hook
from workers.store.jobs.records import EventRequest, JobStatus
from workers.store.jobs.search import search

__all__ = ["bp"]

bp = protect(Blueprint("draft_try", __name__, url_prefix="/api"))
MAX_JOBS = 500
_WINDOW = 16  # try runs queued at once
_WAIT_MARGIN_S = 10.0


@bp.post("/hooks/<hook_id>/draft/try")
@scope("hooks:write")
def try_draft(hook_id: str) -> Response:
    access.hook(hook_id)  # another project's: 404
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidRequest('send {"ids": [...]} or {"filter": {...}, "limit": n}')
    draft, live = DraftStore(services.dispatcher().redis).get(hook_id)
    hook = draft.resolved(live)
    results = _try_all(hook, live, _job_ids(hook_id, body))
    counts: dict[str, int] = {}
    for result in results:
        counts[result["result"]] = counts.get(result["result"], 0) + 1
    return jsonify({"draft": {"etag": draft.etag, "baseVersion": draft.base},
                    "counts": counts, "jobs": results})  # fmt: skip


def _job_ids(hook_id: str, body: dict[str, Any]) -> list[str]:
    ids = body.get("ids")
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidRequest("ids: a list of job ids")
        if len(ids) > MAX_JOBS:
            raise InvalidRequest(f"ids: at most {MAX_JOBS} per call")
        return list(dict.fromkeys(ids))
    given = body.get("filter", {})
    if not isinstance(given, dict):
        raise InvalidRequest('send "ids" or a "filter" object')
    limit = body.get("limit", 20)
    if type(limit) is not int or not 1 <= limit <= MAX_JOBS:
        raise InvalidRequest(f"limit: a whole number from 1 to {MAX_JOBS}")
    flt = parse_filter({**given, "hook": hook_id})
    page = search(services.dispatcher().redis, flt, limit)
    return [job["jobId"] for job in page.jobs]


def _try_all(hook: Hook, live: Hook, job_ids: list[str]) -> list[dict[str, Any]]:
    # get_many leaves out the ids it finds nothing for: match by the job's own id.
    by_id = {raw[b"id"].decode(): raw for raw in services.dispatcher().jobs.get_many(job_ids)}
    found = {job_id: by_id.get(job_id) for job_id in job_ids}
    results: dict[str, dict[str, Any]] = {}
    runnable: list[tuple[str, dict[bytes, bytes], dict[str, Any]]] = []
    for job_id, raw in found.items():
        why = _unrunnable(raw, hook.id)
        if why is not None:
            results[job_id] = {"jobId": job_id, "result": "failed", **why}
        else:
            runnable.append((job_id, raw, tape_of(raw)))
    tried = _run_many(hook, [(raw, tape) for _, raw, tape in runnable], live.version)
    again: list[tuple[str, dict[bytes, bytes], dict[str, Any]]] = []
    for (job_id, raw, tape), ran in zip(runnable, tried, strict=True):
        results[job_id] = {"jobId": job_id, **_verdict(raw, ran), **_logs(ran)}
        if results[job_id]["result"] != "same":
            again.append((job_id, raw, tape))
    _check_determinism(live, again, results)
    return [results[job_id] for job_id in found]


def _check_determinism(
    live: Hook, jobs: list[tuple[str, dict[bytes, bytes], dict[str, Any]]], results: dict[str, Any]
) -> None:
    """Run each job's own version on its tape: it must give back the stored
    answer. A job without a tape (recorded before tapes existed) keeps the
    draft's verdict: what its run read was never recorded."""
    client = services.dispatcher().redis
    by_version: dict[int, list[tuple[str, dict[bytes, bytes], dict[str, Any]]]] = {}
    for job in jobs:
        by_version.setdefault(int(job[1].get(b"version") or 0), []).append(job)
    for version, group in by_version.items():
        own = version_of(client, live, version)
        if own is None:
            continue  # that version is gone: nothing to check against
        ran = _run_many(own, [(r, t) for _, r, t in group], live.version)
        for (job_id, raw, _), own in zip(group, ran, strict=True):
            verdict = _verdict(raw, own)
            if verdict["result"] != "same" and has_tape(raw):
                results[job_id] = {"jobId": job_id, "result": "nondeterministic",
                                   "draft": results[job_id], "ownVersion": verdict}  # fmt: skip


def _unrunnable(raw: dict[bytes, bytes] | None, hook_id: str) -> dict[str, Any] | None:
    if raw is None or (raw.get(b"hookId") or b"").decode() != hook_id or b"inline" in raw:
        return {"reason": "not_found", "error": "no recorded event of this hook with that id"}
    if not access.principal().sees(job_project(raw)):
        return {"reason": "not_found", "error": "no recorded event of this hook with that id"}
    if not JobStatus(raw[b"status"].decode()).is_final:
        return {"reason": "not_finished", "error": "the event has not finished running"}
    if b"replayable" in raw:
        return {"reason": "not_replayable", "error": (raw.get(b"tapeSkipped") or b"").decode()}
    return None


def _run_many(
    hook: Hook, jobs: list[tuple[dict[bytes, bytes], dict[str, Any]]], version: int
) -> list[dict[bytes, bytes] | None]:
    """Run ``hook``'s script on each job's request with its tape, a window at a
    time (``version``: the live one, which the worker checks the hook still has)."""
    dispatcher = services.dispatcher()
    timeout_ms = hook.limits.timeout_ms
    out: list[dict[bytes, bytes] | None] = []
    for start in range(0, len(jobs), _WINDOW):
        queued = []
        for raw, tape in jobs[start : start + _WINDOW]:
            spec = replay_inline(hook, version, tape)
            queued.append(dispatcher.submit_inline(spec, EventRequest.from_job(raw), timeout_ms))
        for try_id in queued:
            ran = dispatcher.jobs.wait(try_id, timeout_ms / 1000 + _WAIT_MARGIN_S)
            dispatcher.jobs.delete(try_id)
            out.append(ran)
    return out


def _logs(ran: dict[bytes, bytes] | None) -> dict[str, Any]:
    """The try run's console lines, when it wrote any (``hooklet dev`` shows them)."""
    logs = orjson.loads(ran[b"logs"]) if ran is not None and b"logs" in ran else []
    return {"logs": logs} if logs else {}
