"""The shadow worker's side: run a hook's draft on a live job's request and
tape, as a draft try does (``workers/draft_runs``: the same inline spec,
the same ``TapePlayer``, so nothing leaves the sandbox: no egress, no KV
write, no callback, no job), judge its answer against the live one, and
count it (``workers/store/shadow``). A draft answer that is not the same is
checked by running the job's own version on the tape: if that does not give
back the stored answer either, the run is ``nondeterministic``."""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from workers.draft_runs.verdict import (
    outcome_fields,
    replay_inline,
    tape_of,
    verdict,
    version_of,
)
from workers.errors import DraftNotFound, HookNotFound
from workers.queue.runner import ScriptRunner
from workers.queue.specs import inline_spec
from workers.sandbox.memory import resident_bytes
from workers.settings import Settings
from workers.store.connection import client_for
from workers.store.drafts import DraftStore
from workers.store.hooks import Hook, HookStore
from workers.store.jobs.records import EventRequest, FailureReason, JobStatus
from workers.store.jobs.store import JobStore
from workers.store.shadow.results import ShadowResults

__all__ = ["ShadowRunner"]

log = logging.getLogger("hooklet.shadow")


class ShadowRunner:
    """One shadow run at a time, in the shadow worker's child."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        client = self.client = client_for(settings, retries="patient")
        self.jobs = JobStore(client, settings.retention_s)
        self.hooks = HookStore(client)
        self.drafts = DraftStore(client)
        self.results = ShadowResults(client, settings)
        self.runner = ScriptRunner(settings, client)
        self.pool = self.runner.pool
        self._last_rss_bytes = 0

    def run(self, job_id: str, hook_id: str) -> str:
        """Run the hook's draft on the live job ``job_id``; returns the outcome
        counted (``none``: the hook has no draft now, nothing is counted)."""
        try:
            draft, live = self.drafts.get(hook_id)
        except (HookNotFound, DraftNotFound):
            return "none"
        raw = self.jobs.get(job_id)
        if raw is None or (raw.get(b"hookId") or b"").decode() != hook_id:
            return self._count(hook_id, draft.etag, job_id, {"result": "skipped"})
        if b"replayable" in raw or not JobStatus(raw[b"status"].decode()).is_final:
            return self._count(hook_id, draft.etag, job_id, {"result": "skipped"})
        tape, request = tape_of(raw), EventRequest.from_job(raw)

        def stuck(reason: FailureReason, message: str) -> None:  # the child is ended next
            self._count(hook_id, draft.etag, job_id,
                        {"result": "failed", "reason": reason.value, "error": message})  # fmt: skip

        try:
            result = self._try(draft.resolved(live), live.version, raw, tape, request, stuck)
            if result["result"] != "same":
                own = self._own_version(live, raw, tape, request, stuck)
                if own is not None and own["result"] != "same":
                    result = {"result": "nondeterministic", "draft": result, "ownVersion": own}
        except SoftTimeLimitExceeded:
            late = "the shadow run went past its time limit"
            result = {"result": "failed", "reason": "timeout", "error": late}
        except Exception as exc:  # noqa: BLE001 - a host bug fails this run, never the lane
            log.exception("shadow run of job %s of hook %s failed", job_id, hook_id)
            result = {"result": "failed", "reason": "error", "error": type(exc).__name__}
        return self._count(hook_id, draft.etag, job_id, result)

    def _try(
        self, hook: Hook, version: int, raw: dict[bytes, bytes], tape: dict[str, Any],
        request: EventRequest, stuck: Any,
    ) -> dict[str, Any]:  # fmt: skip
        spec = inline_spec(replay_inline(hook, version, tape), self.settings)
        outcome = self.runner.run(spec, request, self._last_rss_bytes, stuck)
        self._last_rss_bytes = resident_bytes()
        return verdict(raw, outcome_fields(outcome))

    def _own_version(
        self, live: Hook, raw: dict[bytes, bytes], tape: dict[str, Any],
        request: EventRequest, stuck: Any,
    ) -> dict[str, Any] | None:  # fmt: skip
        """The job's own version run on its tape (None: that version is gone)."""
        own = version_of(self.client, live, int(raw.get(b"version") or 0))
        if own is None:
            return None
        return self._try(own, live.version, raw, tape, request, stuck)

    def _count(self, hook_id: str, etag: str, job_id: str, result: dict[str, Any]) -> str:
        outcome = result["result"]
        entry = None
        if outcome not in ("same", "skipped"):
            rest = {k: v for k, v in result.items() if k != "result"}
            entry = {"jobId": job_id, "diff": rest.get("diff") if outcome == "differs" else rest}
        self.results.record(hook_id, etag, outcome, entry)
        return outcome
