"""Running jobs in a worker child: begin each, resolve what it runs, run it,
record it, and, under a backlog, take the next one straight off the queue.

Tasks are thin wrappers over ``Executor.run``. Every begin of a job that has
not ended counts an attempt (in the job store's Lua); the cap on attempts is
``retries.attempt_allowed``.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from workers import tracing
from workers.queue.batch import Batch
from workers.queue.job_log import log_finished
from workers.queue.messages import callback_on_finish, run_task
from workers.queue.retries import attempt_allowed, gave_up
from workers.queue.runner import ScriptRunner
from workers.queue.specs import ScriptSpec, SpecCache
from workers.sandbox.memory import resident_bytes
from workers.settings import Settings
from workers.shadow.offer import offer_shadow
from workers.store import metrics
from workers.store.budget import MemoryBudget
from workers.store.connection import client_for
from workers.store.hooks import HookStore
from workers.store.jobs.records import (
    EventRequest,
    FailureReason,
    JobStatus,
    Outcome,
    new_job_id,
)
from workers.store.jobs.store import JobStore
from workers.store.lanes.lane import Lane, Taken
from workers.store.lanes.linger import Linger
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import buffer_for

__all__ = ["Executor", "Ran"]

log = logging.getLogger("hooklet.jobs")

# A lingering child takes no async work: an async event queued meanwhile
# waits for it. So it lingers this long at most, whatever the batch window.
_LINGER_MAX_S = 0.05
_NOT_RUN = (FailureReason.HOOK_GONE, FailureReason.CRASHED)  # failed before the script ran


@dataclass(frozen=True)
class _Attempt:
    """A job whose attempt has begun in this child."""

    job_id: str
    raw: dict[bytes, bytes]
    worker: str
    from_queue: bool  # taken straight off the queue, not delivered by Celery

    @property
    def attempts(self) -> int:
        return int(self.raw[b"attempts"])

    @property
    def hook(self) -> str:
        """The metrics label: the hook id, or ``_test`` for a test run."""
        return (self.raw.get(b"hookId") or b"").decode() or "_test"

    @functools.cached_property
    def request(self) -> EventRequest:
        """The stored request, decompressed once: the run and the finish
        (an echoed body is stored once) both read it."""
        return EventRequest.from_job(self.raw)


@dataclass
class Ran:
    """What one ``Executor.run`` did: the first job's status, how many jobs it
    ran, and (job id, hook id, reason, error) of each one that failed: what
    the task's ``JobsFailed`` names for Flower."""

    status: JobStatus
    jobs: int = 0
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, job_id: str, status: JobStatus, raw: dict[bytes, bytes] | None) -> None:
        self.jobs += 1
        if status is JobStatus.FAILED:
            raw = raw or {}
            self.failures.append(
                (
                    job_id,
                    (raw.get(b"hookId") or b"").decode(),
                    (raw.get(b"reason") or b"gone").decode(),
                    (raw.get(b"error") or b"the job expired or was deleted").decode(),
                )
            )


class Executor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        client = client_for(settings, retries="patient")
        self.jobs = JobStore(client, settings.retention_s, budget=MemoryBudget(client, settings))
        self.specs = SpecCache(HookStore(client), settings)
        self.runner = ScriptRunner(settings, client)
        self.pool = self.runner.pool
        self.linger = Linger(client)
        self._last_rss_bytes = 0

    def batch(self, worker: str, until: float, latest_deadline: float) -> Batch:
        """What a task's child may take after its own job (``Batch.for_task``)."""
        return Batch.for_task(self.settings, worker, until, latest_deadline)

    def run(self, token_id: str, worker: str, batch: Batch) -> Ran | None:
        """Run the job a Celery-delivered token claims (the sync lane's next,
        else the next hook's in turn; after a crash, the job the token had
        claimed); then, as ``batch`` allows, more jobs taken the same way,
        one at a time. Returns what ran and what failed, None if the token
        found nothing to run.

        Taking queued jobs spares Celery's per-message work (the node's
        consumer, the pipe to the child) when events queue up. A taken job is
        marked running in the same atomic step that takes it, so if this child
        dies, the reaper queues it again. The next job is taken in the same
        Redis call that records the previous one's outcome."""
        claimed = self.jobs.claim(token_id, batch.take)
        if claimed is None:
            take = batch.next_take()
            claimed = self.jobs.take_queued(take) if take else None
            if claimed is None:
                return None
        status, ended, taken = self._run_begun(claimed, worker, batch, False)
        ran = Ran(status)
        ran.add(claimed.job_id, status, ended)
        while True:
            while taken is not None:
                next_id = taken.job_id
                status, ended, taken = self._run_begun(taken, worker, batch, True)
                ran.add(next_id, status, ended)
            if (ended or {}).get(b"lane") != b"sync":
                return ran
            # After a sync job, wait a little on the sync lane (lanes/linger.py):
            # the next sync job is taken here, without Celery's hop.
            take = batch.next_take() if batch.until - time.monotonic() > 0.001 else None
            if take is None:
                return ran
            linger_s = min(batch.until - time.monotonic(), _LINGER_MAX_S)
            woken = self.linger.wait(take, linger_s)
            taken = self.linger.end(take, and_take=woken)
            if taken is None and not woken:
                return ran
            ended = {b"lane": b"sync"}  # woken for nothing (taken elsewhere): linger on

    def run_job(self, job_id: str, worker: str) -> Ran:
        """Run this one job, begun by id (out of its lane), and take nothing
        after it: for tests and tools. Workers run what their tokens claim."""
        raw, to_run = self.jobs.start(job_id, worker, self.settings.hard_limit_margin_ms)
        status, ended, _ = self._run_begun(Taken(job_id, raw, to_run), worker, None, False)
        ran = Ran(status)
        ran.add(job_id, status, ended)
        return ran

    def _run_begun(
        self, begun: Taken, worker: str, batch: Batch | None, from_queue: bool
    ) -> tuple[JobStatus, dict[bytes, bytes] | None, Taken | None]:
        """Run a job whose attempt has begun; returns its status, its fields
        with the outcome's reason and error, and the next job taken, if any."""
        if begun.raw is None or not begun.to_run:  # gone, or a redelivery of an ended job
            take = batch.next_take() if batch else None
            next_job = self.jobs.take_queued(take) if take else None
            if begun.raw is None:
                log.warning("job %s is gone (expired or deleted); skipping", begun.job_id)
                return JobStatus.FAILED, None, next_job
            return JobStatus(begun.raw[b"status"].decode()), begun.raw, next_job
        attempt = _Attempt(begun.job_id, begun.raw, worker, from_queue)
        with tracing.job_run(attempt.job_id, attempt.raw) as run:
            return self._run_attempt(attempt, batch, run)

    def _run_attempt(
        self, attempt: _Attempt, batch: Batch | None, run: Any
    ) -> tuple[JobStatus, dict[bytes, bytes] | None, Taken | None]:
        """``_run_begun`` inside the job's run span (``run``, a no-op while
        tracing is off): resolve, run, record."""
        spec: ScriptSpec | None = None
        try:
            spec = self.specs.for_job(attempt.raw)
        except LookupError as exc:
            outcome = Outcome(
                JobStatus.FAILED, 0.0, [], reason=FailureReason.HOOK_GONE, error=str(exc)
            )
        else:
            run.propagate(spec.trace_propagate)
            outcome = self._outcome(attempt, spec)
        reason = outcome.reason.value if outcome.reason else None
        version = int(attempt.raw.get(b"version") or 0)
        run.ended(outcome.status.value, reason, outcome.error, outcome.duration_ms,
                  outcome.heap_used_bytes, version)  # fmt: skip
        ended = {**attempt.raw}
        if outcome.reason is not None:
            ended[b"reason"] = outcome.reason.value.encode()
            ended[b"error"] = (outcome.error or "").encode()
        return outcome.status, ended, self._finish(attempt, outcome, spec, batch)

    def _outcome(self, attempt: _Attempt, spec: ScriptSpec) -> Outcome:
        if not attempt_allowed(attempt.attempts, self.settings.max_attempts):
            died = attempt.attempts - 1
            return gave_up(f"the worker process died {died} times running this job; not retrying")

        def on_stuck(reason: FailureReason, message: str) -> None:
            outcome = Outcome(JobStatus.FAILED, spec.timeout_ms, [], reason=reason, error=message)
            self._finish(attempt, outcome, spec)

        try:
            return self.runner.run(spec, attempt.request, self._last_rss_bytes, on_stuck)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - a host bug fails the run, never reruns it
            # Left to propagate, the job would stay running, the reaper would
            # run it (and its side effects) again, and it would end "crashed".
            log.exception("host error running job %s of hook %s", attempt.job_id, attempt.hook)
            return Outcome(
                JobStatus.FAILED, 0.0, [], reason=FailureReason.ERROR,
                error=f"Error: hooklet failed running this script ({type(exc).__name__}); "
                "the operators' logs have the details",
            )  # fmt: skip

    def _finish(
        self,
        attempt: _Attempt,
        outcome: Outcome,
        spec: ScriptSpec | None,
        batch: Batch | None = None,
    ) -> Taken | None:
        """Record the outcome (and metrics, and the child's RSS; the console's
        stats go to the process's buffer once it is recorded); with room in
        ``batch``, take the next job in the same call and return it."""
        push = None
        if spec is not None:
            push = callback_on_finish(spec.mode, spec.callback_url, attempt.job_id, self.settings)
        rss_bytes = self._last_rss_bytes = resident_bytes()
        reason = outcome.reason.value if outcome.reason else None
        # The duration histogram counts script runs only.
        ran = spec is not None and spec.source is not None and outcome.reason not in _NOT_RUN
        duration_s = outcome.duration_ms / 1000 if ran else None
        counters = metrics.job_fields(attempt.hook, outcome.status.value, reason, duration_s)
        if attempt.from_queue:
            counters.append((metrics.field("jobs_taken_from_queue", hook=attempt.hook), 1))
        child = metrics.child_entry(rss_bytes, len(self.pool))
        written = None
        if self.settings.stats_enabled and b"inline" not in attempt.raw:
            duration_ms = duration_s * 1000 if duration_s is not None else None
            written = stats.job_write(
                attempt.hook,
                outcome.status.value,
                reason,
                duration_ms,
                (child[0], rss_bytes, len(self.pool)),
            )
        counters += metrics.outbound_fields(attempt.hook, outcome.outbound or ())
        recorded, taken = self.jobs.finish(
            attempt.job_id,
            outcome,
            push,
            counters,
            child,
            take=batch.next_take() if batch else None,
            request_body=attempt.request.body,  # an echoed body is stored once
            # A sync caller's answer travels with the publish that wakes it.
            answer_from=attempt.raw if attempt.raw.get(b"lane") == b"sync" else None,
            # A token owed to jobs its project's maxConcurrent held (lanes/pick.lua).
            owed_token=functools.partial(_owed_token, self.settings, attempt.hook),
        )
        if written is not None and recorded:
            buffer_for(self.settings).add(written)
        if outcome.skip_request and spec is not None:
            # secutils' skipRequest: the event stays out of the hook's history.
            self.jobs.leave_history(spec.hook_id, attempt.job_id)
        if spec is not None and spec.shadow_sample and recorded:  # its draft's shadow run
            offer_shadow(self.settings, spec, attempt.job_id, outcome)
        log_finished(
            attempt.job_id,
            attempt.hook,
            int(attempt.raw.get(b"version") or 0),
            outcome,
            attempts=attempt.attempts,
            worker=attempt.worker,
            rss_bytes=rss_bytes,
            recorded=recorded,
        )
        return taken


def _owed_token(settings: Settings, hook_id: str) -> tuple[str, bytes]:
    """A token with a fresh id for the async lane (see ``JobStore.finish``)."""
    return run_task(new_job_id(), settings, Lane(hook_id))
