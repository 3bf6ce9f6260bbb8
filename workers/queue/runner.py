"""Running one job's script in this worker child: a warm or fresh isolate
from the pool, the script's limits, the watchdog, and the outcome."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import redis

from workers import tracing
from workers.queue.specs import ScriptSpec
from workers.sandbox.contract import build_context, merge_response
from workers.sandbox.host_calls import HostCalls
from workers.sandbox.isolate import RunLimits, RunResult, run_script
from workers.sandbox.pool import IsolatePool
from workers.sandbox.tape import TapePlayer, TapeRecorder, encode
from workers.sandbox.watchdog import Watchdog
from workers.settings import Settings
from workers.store.jobs.records import EventRequest, FailureReason, JobStatus, Outcome

__all__ = ["ScriptRunner"]

OnStuck = Callable[[FailureReason, str], None]


class ScriptRunner:
    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self._client = client  # the script KV's Redis
        self.pool = IsolatePool(
            settings.isolate_cache_size,
            settings.isolate_max_uses,
            settings.isolate_max_heap_mb,
            fresh_prewarm=settings.fresh_prewarm,
        )
        self.watchdog = Watchdog(settings.child_rss_mb)
        # Past 70% of the RSS cap, the pool lets warm isolates go: the rest is
        # headroom for the script that runs next.
        self._cache_budget_bytes = settings.child_rss_mb * 2**20 * 7 // 10
        # The last run's fetches and KV calls: none, and running it again
        # changes nothing outside (queue/held.py may then record it later).
        self.last_run_reached_out = 0
        self._limits: dict[tuple[int, int], RunLimits] = {}  # by (timeout_ms, heap_mb)

    def run(
        self, spec: ScriptSpec, request: EventRequest, last_rss_bytes: int, on_stuck: OnStuck
    ) -> Outcome:
        """Run ``spec`` on ``request``. ``on_stuck`` records the failure when
        the watchdog must end this child (a script that ignores interruption)."""
        if spec.source is None:  # a static responder
            result = merge_response(None, spec.response, spec.secrets)
            return Outcome(JobStatus.SUCCEEDED, 0.0, [], result=result)
        s = self.settings
        limits = self._limits.get((spec.timeout_ms, spec.heap_mb))
        if limits is None:
            limits = self._limits[spec.timeout_ms, spec.heap_mb] = RunLimits(
                timeout_ms=spec.timeout_ms,
                heap_mb=spec.heap_mb,
                max_log_lines=s.max_log_lines,
                max_log_bytes=s.max_log_bytes,
                max_result_bytes=s.max_result_bytes,
                max_error_bytes=s.max_error_bytes,
                max_header_count=s.max_response_headers,
                max_header_bytes=s.max_response_header_bytes,
            )
        calls = HostCalls(s, self._client, spec.hook_id)
        # A live run records its tape; a try run (spec.tape) plays one back.
        player = TapePlayer(spec.tape) if spec.tape is not None else None
        recorder = TapeRecorder(calls) if player is None else None
        host = player or recorder
        replay = player.replay_args(spec.tape) if player and spec.tape else None
        context = build_context(request, spec.secrets, tracing.script_traceparent())
        self.pool.relieve(last_rss_bytes, self._cache_budget_bytes)
        isolate = self.pool.acquire(spec.hook_id, spec.version, spec.heap_mb, fresh=spec.fresh)
        deadline = time.monotonic() + spec.timeout_ms / 1000
        run: RunResult | None = None
        try:
            with self.watchdog.watching(isolate, deadline, on_stuck):
                run = run_script(isolate, spec.source, context, limits, host, replay)
        finally:
            self.last_run_reached_out = len(calls.records) + calls.kv_ops
            if run is None:
                isolate.close()  # interrupted by a Celery soft limit or a bug
            else:
                self.pool.release(isolate, spec.hook_id, spec.version, run, fresh=spec.fresh)
        logs = run.logs
        if run.logs_dropped:
            note = f"[hooklet] {run.logs_dropped} log line(s) dropped: over the log limit"
            logs = [*logs, {"level": "warn", "message": note}]
        outbound = calls.records or None
        taped = _taped(recorder, run, s.tape_max_bytes) if recorder else {}
        if player is not None:
            taped = {"replay": {"diverged": player.diverged, "steps": player.steps}}
        if run.ok:
            outcome = Outcome(
                JobStatus.SUCCEEDED,
                run.duration_ms,
                logs,
                result=merge_response(run, spec.response, spec.secrets),
                heap_used_bytes=isolate.last_heap_bytes,
                outbound=outbound,
                skip_request=run.skip_request,
                **taped,
            )
        else:
            outcome = Outcome(
                JobStatus.FAILED,
                run.duration_ms,
                logs,
                reason=run.reason,
                error=run.error,
                outbound=outbound,
                **taped,
            )
        return within_job_cap(outcome, s.max_job_output_bytes)


def _taped(recorder: TapeRecorder, run: RunResult, max_bytes: int) -> dict[str, Any]:
    """The Outcome fields of a live run's tape: the packed tape, or why it is
    not kept (the job is then not replayable)."""
    tape = recorder.tape(run.tape)
    if tape is None:
        return {}
    packed, why = encode(tape, max_bytes)
    return {"tape": packed} if why is None else {"tape_skipped": why}


def within_job_cap(outcome: Outcome, limit: int) -> Outcome:
    """The whole of what a run stores in its job stays under ``limit``; over
    it, the job fails as ``output`` and keeps none of it."""
    result = outcome.result or {}
    size = len(result.get("body", b"")) + len(orjson.dumps(result.get("headers", {})))
    size += len(orjson.dumps(outcome.logs)) + len((outcome.error or "").encode())
    size += len(orjson.dumps(outcome.outbound or []))
    if size <= limit:
        return outcome
    return Outcome(
        JobStatus.FAILED,
        outcome.duration_ms,
        [],
        reason=FailureReason.OUTPUT,
        error=f"the run's output is {size} bytes, over the job's limit of {limit} bytes",
    )
