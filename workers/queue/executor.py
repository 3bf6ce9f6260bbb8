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
from collections.abc import Callable

import redis
from celery.exceptions import SoftTimeLimitExceeded

from workers import tracing
from workers.queue.attempt import Attempt, Ran
from workers.queue.batch import Batch
from workers.queue.held import Held, HeldJobs, RunTimes
from workers.queue.job_log import log_finished
from workers.queue.messages import callback_on_finish, run_task
from workers.queue.reaper import lane_of
from workers.queue.retries import attempt_allowed, gave_up
from workers.queue.runner import ScriptRunner
from workers.queue.running_marker import RunningMarker
from workers.queue.specs import ScriptSpec, SpecCache
from workers.sandbox.memory import resident_bytes
from workers.settings import Settings
from workers.shadow.offer import offer_shadow
from workers.store import metrics
from workers.store.budget import MemoryBudget
from workers.store.connection import client_for
from workers.store.hooks import HookStore
from workers.store.jobs.finish_step import finish_step
from workers.store.jobs.records import (
    FailureReason,
    JobStatus,
    Outcome,
    new_job_id,
)
from workers.store.jobs.store import JobStore
from workers.store.lanes.batched import Batched, Recording
from workers.store.lanes.lane import Lane, Taken
from workers.store.lanes.linger import Linger
from workers.store.shadow.results import ShadowResults
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import buffer_for

__all__ = ["Executor", "Ran"]

log = logging.getLogger("hooklet.jobs")

# A lingering child takes no async work: an async event queued meanwhile
# waits for it. So it lingers this long at most, whatever the batch window.
_LINGER_MAX_S = 0.05
_NOT_RUN = (FailureReason.HOOK_GONE, FailureReason.CRASHED)  # failed before the script ran


class Executor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        client = client_for(settings, retries="patient")
        budget = MemoryBudget(client, settings)
        self.jobs = JobStore(client, settings.retention_s, budget=budget)
        self.batched = Batched(client, budget)
        self.shadow = ShadowResults(client, settings)  # offers live runs to drafts
        self.specs = SpecCache(HookStore(client), settings)
        self.runner = ScriptRunner(settings, client)
        self.pool = self.runner.pool
        self.linger = Linger(client)
        self.marker = RunningMarker()
        self.run_times = RunTimes(settings.ordered_hold_ms)  # may an ordered outcome wait
        self._last_rss_bytes = 0

    def batch(self, worker: str, until: float, latest_deadline: float) -> Batch:
        """What a task's child may take after its own job (``Batch.for_task``)."""
        return Batch.for_task(self.settings, worker, until, latest_deadline)

    def run(self, token_id: str, worker: str, batch: Batch) -> Ran | None:
        """Run the job a Celery-delivered token claims (the sync lane's next,
        else the next hook's in turn; after a crash, the job the token had
        claimed); then, as ``batch`` allows, more jobs taken the same way.
        Returns what ran and what failed, None if the token found nothing.

        Taking queued jobs spares Celery's per-message work (the node's
        consumer, the pipe to the child) when events queue up. Jobs are taken
        up to ``take_batch`` at a time, each marked running in the same atomic
        step that takes it (so if this child dies, they are queued again),
        and taken in the same round trip that records the outcomes before
        them (``queue/held.py``)."""
        grace_s = self.settings.reaper_grace_s  # no outcome held past its job's reaping
        held = HeldJobs(self.batched, batch, self.settings.take_batch, self.run_times, grace_s)
        claimed = self.jobs.claim(token_id, batch.take)
        if claimed is not None:
            held.add(claimed, from_queue=False)
        ran: Ran | None = None
        try:
            while True:
                while (job := held.next()) is not None:
                    status, ended = self._run_begun(job, worker, held)
                    ran = ran or Ran(status)
                    ran.add(job.job.job_id, status, ended)
                if ran is None or (ended or {}).get(b"lane") != b"sync":
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
                if taken is not None:
                    held.add(taken, from_queue=True)
                ended = {b"lane": b"sync"}  # woken for nothing (taken elsewhere): linger on
        finally:
            self._let_go(held, worker)

    def run_job(self, job_id: str, worker: str) -> Ran:
        """Run this one job, begun by id (out of its lane), and take nothing
        after it: for tests and tools. Workers run what their tokens claim."""
        raw, to_run = self.jobs.start(job_id, worker, self.settings.hard_limit_margin_ms)
        held = HeldJobs(self.batched, None, 1)
        status, ended = self._run_begun(
            Held(Taken(job_id, raw, to_run), False, False), worker, held
        )
        ran = Ran(status)
        ran.add(job_id, status, ended)
        return ran

    def _run_begun(
        self, held: Held, worker: str, jobs: HeldJobs
    ) -> tuple[JobStatus, dict[bytes, bytes] | None]:
        """Run a job whose attempt has begun and record its outcome (or hold it
        back: ``jobs``); returns its status and its fields with the outcome's
        reason and error."""
        begun = held.job
        if begun.raw is None or not begun.to_run:  # gone, or a redelivery of an ended job
            if begun.raw is None:
                log.warning("job %s is gone (expired or deleted); skipping", begun.job_id)
                return JobStatus.FAILED, None
            return JobStatus(begun.raw[b"status"].decode()), begun.raw
        attempt = Attempt(begun.job_id, begun.raw, worker, held.from_queue)
        started_at = time.time() if held.waited else None
        self.marker.running(attempt.job_id)  # if this child dies now, it died of this job
        with tracing.job_run(attempt.job_id, attempt.raw) as run:
            spec: ScriptSpec | None = None
            try:
                spec = self.specs.for_job(attempt.raw)
            except LookupError as exc:
                outcome = Outcome(
                    JobStatus.FAILED, 0.0, [], reason=FailureReason.HOOK_GONE, error=str(exc)
                )
            else:
                run.propagate(spec.trace_propagate)
                outcome = self._outcome(attempt, spec, jobs)
            reason = outcome.reason.value if outcome.reason else None
            version = int(attempt.raw.get(b"version") or 0)
            run.ended(outcome.status.value, reason, outcome.error, outcome.duration_ms,
                      outcome.heap_used_bytes, version)  # fmt: skip
            # It may wait for the next round trip if running it again changes
            # nothing; an ordered job's only behind short runs (its key's next
            # event waits for it: queue/held.py).
            reached_out = self.runner.last_run_reached_out
            can_wait = attempt.raw.get(b"lane") != b"sync" and not reached_out
            ordered = b"orderId" in attempt.raw
            recording = self._recording(attempt, outcome, spec, started_at)
            jobs.record(*recording, can_wait=can_wait, ordered=ordered)
        ended = {**attempt.raw}
        if outcome.reason is not None:
            ended[b"reason"] = outcome.reason.value.encode()
            ended[b"error"] = (outcome.error or "").encode()
        return outcome.status, ended

    def _outcome(self, attempt: Attempt, spec: ScriptSpec, jobs: HeldJobs) -> Outcome:
        if not attempt_allowed(attempt.attempts, self.settings.max_attempts):
            died = attempt.attempts - 1
            return gave_up(f"the worker process died {died} times running this job; not retrying")

        def on_stuck(reason: FailureReason, message: str) -> None:
            # The child ends next: what it held back is recorded with this.
            outcome = Outcome(JobStatus.FAILED, spec.timeout_ms, [], reason=reason, error=message)
            jobs.record(*self._recording(attempt, outcome, spec), can_wait=False, take=False)

        self.runner.last_run_reached_out = 0
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

    def _recording(
        self, attempt: Attempt, outcome: Outcome, spec: ScriptSpec | None,
        started_at: float | None = None,
    ) -> tuple[Recording, Callable[[bool], None]]:  # fmt: skip
        """What records the outcome (and metrics, and the child's RSS), and what
        follows once it is recorded (the console's stats to the process's
        buffer, the history, a shadow run, the log line)."""
        push = None
        if spec is not None:
            push = callback_on_finish(spec.mode, spec.callback_url, attempt.job_id, self.settings)
        rss_bytes = self._last_rss_bytes = resident_bytes()
        reason = outcome.reason.value if outcome.reason else None
        # The duration histogram counts script runs only.
        ran = spec is not None and spec.source is not None and outcome.reason not in _NOT_RUN
        duration_s = outcome.duration_ms / 1000 if ran else None
        # A test or draft try run (inline) is no event of the hook: /metrics
        # and the console's stats count events only (alerts fire on them).
        event = b"inline" not in attempt.raw
        counters = (
            metrics.job_fields(attempt.hook, outcome.status.value, reason, duration_s)
            if event
            else []
        )
        if attempt.from_queue and event:
            counters.append((metrics.field("jobs_taken_from_queue", hook=attempt.hook), 1))
        child = metrics.child_entry(rss_bytes, len(self.pool))
        written = None
        if self.settings.stats_enabled and event:
            duration_ms = duration_s * 1000 if duration_s is not None else None
            child_stats = (child[0], rss_bytes, len(self.pool))
            written = stats.job_write(
                attempt.hook, outcome.status.value, reason, duration_ms, child_stats
            )
        if event:
            counters += metrics.outbound_fields(attempt.hook, outcome.outbound or ())
        step = functools.partial(
            finish_step,
            self.settings.retention_s,
            attempt.job_id,
            outcome,
            push,
            counters,
            child,
            request_body=attempt.request.body,  # an echoed body is stored once
            # A sync caller's answer travels with the publish that wakes it.
            answer_from=attempt.raw if attempt.raw.get(b"lane") == b"sync" else None,
            finished_at=time.time(),
            started_at=started_at,
        )
        # A token owed to jobs its project's maxConcurrent held (lanes/pick.lua).
        recording = Recording(step, functools.partial(_owed_token, self.settings, attempt.hook))

        def after(recorded: bool) -> None:
            if written is not None and recorded:
                buffer_for(self.settings).add(written)
            if outcome.skip_request and spec is not None:
                # secutils' skipRequest: the event stays out of the hook's history.
                self.jobs.leave_history(spec.hook_id, attempt.job_id)
            if spec is not None and spec.shadow_sample and recorded:  # its draft's shadow run
                offer_shadow(self.shadow, self.settings, spec, attempt.job_id, outcome)
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

        return recording, after

    def _let_go(self, held: HeldJobs, worker: str) -> None:
        """On the way out, even of a time limit: record what was held back,
        and queue again at once the jobs held but never run."""
        try:
            held.flush(take=False)
            for left in held.left():
                self._give_back(left.job, worker)
        except redis.RedisError as exc:  # the reaper's turn; never hide the first error
            log.warning("recording or giving back held jobs failed: %s", exc)

    def _give_back(self, job: Taken, worker: str) -> None:
        """Queue a held job this task will not run again at once (its attempt
        given back), as a dead child's are (``child_watch``)."""
        if job.raw is None:
            return
        lane = lane_of(job.raw)
        message = run_task(new_job_id(), self.settings, lane)
        self.jobs.requeue(job.job_id, message, lane, held_by=worker, refund=True)


def _owed_token(settings: Settings, hook_id: str) -> tuple[str, bytes]:
    """A token with a fresh id for the async lane (see ``JobStore.finish``)."""
    return run_task(new_job_id(), settings, Lane(hook_id))
