"""Running jobs in a worker child: load each, guard it, run it, record it.

Tasks are thin wrappers over ``Executor.run``, which runs the task's job and
then, under a backlog, the queued jobs the child takes straight off the queue.
Retry and redelivery policy lives here too: every start of a job that has not
ended counts an attempt, and a job whose attempts pass the cap (the worker
child died under it each time) ends ``crashed``.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from dataclasses import dataclass
from typing import Any

import orjson

from workers import keys, metrics
from workers.celery_app import RUN_SCRIPT, SCRIPTS_QUEUE
from workers.contract import build_context, merge_response
from workers.delivery import callback_push
from workers.hooks import Hook, HookStore
from workers.isolates import IsolatePool
from workers.job_records import EventRequest, FailureReason, JobStatus, Outcome
from workers.jobs import JobStore, TakeFrom, Taken
from workers.memory import resident_bytes
from workers.redis_client import connect
from workers.sandbox import RunLimits, RunResult, run_script
from workers.settings import Settings
from workers.watchdog import Watchdog

__all__ = ["Batch", "Executor", "ScriptSpec"]

log = logging.getLogger("hooklet.jobs")
_SPEC_CACHE_SIZE = 256
_TERMINATIONS = (FailureReason.TIMEOUT, FailureReason.MEMORY, FailureReason.CRASHED)
_NOT_RUN = (FailureReason.HOOK_GONE, FailureReason.CRASHED)  # failed before the script ran
_SPEC_TTL_S = 2.0


@dataclass(frozen=True)
class ScriptSpec:
    """What to run for a job: a stored hook's version, or an inline test script."""

    hook_id: str
    version: int
    source: str | None
    response: dict[str, Any]
    secrets: dict[str, str]
    timeout_ms: int
    heap_mb: int
    fresh: bool
    mode: str = "async"
    callback_url: str | None = None


@dataclass
class Batch:
    """The queued jobs a task's child may still take after the task's own
    job (see ``Executor.run``)."""

    take: TakeFrom
    remaining: int
    until: float  # monotonic clock


class Executor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        client = connect(settings.redis_url)
        self.redis = client
        self.jobs = JobStore(client, settings.retention_s)
        self.hooks = HookStore(client)
        self.pool = IsolatePool(
            settings.isolate_cache_size, settings.isolate_max_uses, settings.isolate_max_heap_mb
        )
        self.watchdog = Watchdog(settings.child_rss_mb)
        self._specs: dict[tuple[str, int], tuple[float, ScriptSpec]] = {}
        # Past 70% of the RSS cap, the pool lets warm isolates go: the rest is
        # headroom for the script that runs next.
        self._cache_budget_bytes = settings.child_rss_mb * 2**20 * 7 // 10
        self._last_rss_bytes = 0

    def run(self, job_id: str, worker: str, batch: Batch | None = None) -> JobStatus:
        """Run the job; then, as ``batch`` allows, jobs taken straight off the
        scripts queue, one at a time. Returns the first job's status.

        Taking queued jobs spares Celery's per-message work (the node's
        consumer, the pipe to the child) when events queue up. A taken job is
        marked running in the same atomic step that takes it, so if this child
        dies, the reaper queues it again. The next job is taken in the same
        Redis call that records the previous one's outcome."""
        raw, to_run = self.jobs.start(job_id, worker, self.settings.hard_limit_margin_ms)
        status, taken = self._run_begun(job_id, raw, to_run, worker, batch)
        while taken is not None:
            _, taken = self._run_begun(*taken, worker, batch, from_queue=True)
        return status

    def batch(self, worker: str, until: float, latest_deadline: float) -> Batch:
        """What a task's child may take after its own job: up to the settings'
        ``batch_max_jobs`` jobs, until the monotonic clock passes ``until``;
        only jobs whose hard deadline falls before ``latest_deadline`` (epoch
        seconds: the task's own time limit, which Celery enforces)."""
        take = TakeFrom(
            keys.celery_queue(SCRIPTS_QUEUE),
            RUN_SCRIPT,
            worker,
            self.settings.hard_limit_margin_ms,
            latest_deadline,
        )
        return Batch(take, self.settings.batch_max_jobs, until)

    def _next_take(self, batch: Batch | None) -> TakeFrom | None:
        """Whether to take another job: the batch has room and time left, and
        the child's peak memory is under the cap Celery recycles children at
        (over it, Celery replaces the child after this task)."""
        if batch is None or batch.remaining <= 0 or time.monotonic() >= batch.until:
            return None
        peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if peak_bytes > self.settings.max_memory_per_child_mb * 2**20:
            return None
        batch.remaining -= 1
        return batch.take

    def _run_begun(
        self,
        job_id: str,
        raw: dict[bytes, bytes] | None,
        to_run: bool,
        worker: str,
        batch: Batch | None,
        from_queue: bool = False,
    ) -> tuple[JobStatus, Taken | None]:
        """Run a job whose attempt has begun (``from_queue``: by taking it off
        the queue); returns its status and the next job taken, if any."""
        if raw is None or not to_run:  # gone, or a redelivery of a job that ended
            take = self._next_take(batch)
            next_job = self.jobs.take_queued(take) if take else None
            if raw is None:
                log.warning("job %s is gone (expired or deleted); skipping", job_id)
                return JobStatus.FAILED, next_job
            return JobStatus(raw[b"status"].decode()), next_job
        attempts = int(raw[b"attempts"])
        try:
            spec = self._spec(raw)
        except LookupError as exc:
            outcome = Outcome(
                JobStatus.FAILED, 0.0, [], reason=FailureReason.HOOK_GONE, error=str(exc)
            )
            next_job = self._finish(job_id, raw, outcome, attempts, worker, None, batch, from_queue)
            return outcome.status, next_job
        if attempts > self.settings.max_attempts:
            outcome = Outcome(
                JobStatus.FAILED,
                0.0,
                [],
                reason=FailureReason.CRASHED,
                error=f"the worker process died {attempts - 1} times running this job; "
                "not retrying",
            )
            next_job = self._finish(job_id, raw, outcome, attempts, worker, spec, batch, from_queue)
            return outcome.status, next_job
        request = EventRequest.from_record(raw[b"request"], raw.get(b"body", b""))
        outcome = self._execute(job_id, spec, request, attempts, worker, raw)
        next_job = self._finish(job_id, raw, outcome, attempts, worker, spec, batch, from_queue)
        return outcome.status, next_job

    def _spec(self, raw: dict[bytes, bytes]) -> ScriptSpec:
        if b"inline" in raw:
            inline = orjson.loads(raw[b"inline"])
            limits = inline.get("limits", {})
            return ScriptSpec(
                hook_id=inline.get("hookId", ""),
                version=int(inline.get("version", 0)),
                source=inline.get("script"),
                response=inline.get("response", {}),
                secrets=inline.get("secrets", {}),
                timeout_ms=limits.get("timeoutMs", self.settings.default_timeout_ms),
                heap_mb=limits.get("heapMb", self.settings.default_heap_mb),
                fresh=True,
            )
        return self._hook_spec(raw[b"hookId"].decode(), int(raw[b"version"]))

    def _hook_spec(self, hook_id: str, version: int) -> ScriptSpec:
        """The spec of a hook's version. A version never changes once written,
        so it is cached; a deleted hook is noticed within ``_SPEC_TTL_S``."""
        key = (hook_id, version)
        cached = self._specs.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        hook: Hook = self.hooks.get(hook_id)
        source = hook.script if version == hook.version else self.hooks.script(hook_id, version)
        if source is None and hook.script is not None:
            raise LookupError(f"version {version} of hook {hook_id!r} no longer exists")
        spec = ScriptSpec(
            hook_id=hook_id,
            version=version,
            source=source,
            response=hook.response,
            secrets=hook.secrets,
            timeout_ms=hook.limits.timeout_ms,
            heap_mb=hook.limits.heap_mb,
            fresh=hook.isolation == "fresh",
            mode=hook.mode,
            callback_url=hook.callback_url,
        )
        if len(self._specs) >= _SPEC_CACHE_SIZE:
            self._specs.clear()
        self._specs[key] = (time.monotonic() + _SPEC_TTL_S, spec)
        return spec

    def _execute(
        self,
        job_id: str,
        spec: ScriptSpec,
        request: EventRequest,
        attempts: int,
        worker: str,
        raw: dict[bytes, bytes],
    ) -> Outcome:
        if spec.source is None:  # a static responder
            return Outcome(JobStatus.SUCCEEDED, 0.0, [], result=merge_response(None, spec.response))
        s = self.settings
        limits = RunLimits(
            timeout_ms=spec.timeout_ms,
            heap_mb=spec.heap_mb,
            max_log_lines=s.max_log_lines,
            max_log_bytes=s.max_log_bytes,
            max_result_bytes=s.max_result_bytes,
        )
        context = build_context(request, spec.secrets)
        self.pool.relieve(self._last_rss_bytes, self._cache_budget_bytes)
        isolate = self.pool.acquire(spec.hook_id, spec.version, spec.heap_mb, fresh=spec.fresh)

        def on_stuck(reason: FailureReason, message: str) -> None:
            outcome = Outcome(JobStatus.FAILED, spec.timeout_ms, [], reason=reason, error=message)
            self._finish(job_id, raw, outcome, attempts, worker, spec)

        deadline = time.monotonic() + spec.timeout_ms / 1000
        run: RunResult | None = None
        try:
            with self.watchdog.watching(isolate, deadline, on_stuck):
                run = run_script(isolate, spec.source, context, limits)
        finally:
            if run is None:
                isolate.close()  # interrupted by a Celery soft limit or a bug
            else:
                self.pool.release(isolate, spec.hook_id, spec.version, run, fresh=spec.fresh)
        logs = run.logs
        if run.logs_dropped:
            logs = [
                *logs,
                {
                    "level": "warn",
                    "message": f"[hooklet] {run.logs_dropped} log "
                    "line(s) dropped: over the log limit",
                },
            ]
        if not run.ok:
            return Outcome(
                JobStatus.FAILED, run.duration_ms, logs, reason=run.reason, error=run.error
            )
        return Outcome(
            JobStatus.SUCCEEDED,
            run.duration_ms,
            logs,
            result=merge_response(run, spec.response),
            heap_used_bytes=isolate.last_heap_bytes,
        )

    def _finish(
        self,
        job_id: str,
        raw: dict[bytes, bytes],
        outcome: Outcome,
        attempts: int,
        worker: str,
        spec: ScriptSpec | None,
        batch: Batch | None = None,
        from_queue: bool = False,
    ) -> Taken | None:
        """Record the outcome (and metrics, and the child's RSS); with room in
        ``batch``, take the next job in the same call and return it."""
        push = None
        if spec is not None:
            push = callback_push(spec.mode, spec.callback_url, job_id, self.settings)
        hook = (raw.get(b"hookId") or b"").decode() or "_test"
        rss_bytes = self._last_rss_bytes = resident_bytes()
        reason = outcome.reason.value if outcome.reason else None
        # The duration histogram counts script runs only.
        ran = spec is not None and spec.source is not None and outcome.reason not in _NOT_RUN
        duration_s = outcome.duration_ms / 1000 if ran else None
        counters = metrics.job_fields(hook, outcome.status.value, reason, duration_s)
        if from_queue:
            counters.append((metrics.field("jobs_taken_from_queue", hook=hook), 1))
        recorded, taken = self.jobs.finish_and_take(
            job_id,
            outcome,
            push,
            counters,
            metrics.child_entry(rss_bytes, len(self.pool)),
            self._next_take(batch),
        )
        log.info(
            "job finished",
            extra={
                "event": "job_finished",
                "job_id": job_id,
                "hook": hook,
                "version": int(raw.get(b"version") or 0),
                "status": outcome.status.value,
                "reason": outcome.reason.value if outcome.reason else None,
                "duration_ms": round(outcome.duration_ms, 3),
                "child_rss_mb": round(rss_bytes / 2**20, 1),
                "heap_used_bytes": outcome.heap_used_bytes,
                "attempts": attempts,
                "worker": worker,
                "pid": os.getpid(),
                "recorded": recorded,
            },
        )
        if outcome.reason in _TERMINATIONS:
            log.warning(
                "script terminated",
                extra={
                    "event": "script_terminated",
                    "job_id": job_id,
                    "hook": hook,
                    "reason": outcome.reason.value,
                    "error": outcome.error,
                    "child_rss_mb": round(rss_bytes / 2**20, 1),
                    "worker": worker,
                },
            )
        return taken
