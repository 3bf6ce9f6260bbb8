"""OpenTelemetry traces: one event, one trace, from the intake to the
callback. The one package that talks to OpenTelemetry; ``app/`` and
``workers/`` call these functions only.

Off unless an OTLP endpoint is set (``setup.configured``, read once by
``start`` after fork). While off, each helper returns at its first line (the
shared ``NOOP``), and OpenTelemetry is not even imported. The trace's context
travels in the job's record (``traceparent``, written with the job by CREATE):
a task message is only a token, "run the next job", so the job is what
carries the event's context to the worker that runs it and to its callbacks.
"""

from __future__ import annotations

from typing import Any

from workers.tracing.noop import NOOP
from workers.tracing.setup import configured, flush, install, start, state
from workers.tracing.traceparent import trace_id_of

__all__ = [
    "NOOP",
    "callback_attempt",
    "configured",
    "flush",
    "host_call",
    "install",
    "intake",
    "job_run",
    "kv_event",
    "log_ids",
    "now_ns",
    "replay_fields",
    "script_traceparent",
    "start",
    "trace_id_of",
]


def now_ns() -> int:
    """When a request began, for its span (0 while tracing is off)."""
    if state.tracer is None:
        return 0
    from workers.tracing.web import now_ns as now

    return now()


def intake(
    hook_id: str,
    method: str,
    incoming: str | None,
    continue_incoming: bool,
    start_ns: int,
    project: str | None = None,
) -> Any:
    """The server span of an event received at ``/h/<hook>`` (``web.intake``)."""
    if state.tracer is None:
        return NOOP
    from workers.tracing.web import intake as span

    return span(hook_id, method, incoming, continue_incoming, start_ns, project)


def replay_fields(original: bytes | None, hook_id: str, job_id: str) -> dict[str, str]:
    """A replay's job fields: a new trace linked to the original's."""
    if state.tracer is None:
        return {}
    from workers.tracing.web import replay_fields as fields

    return fields(original, hook_id, job_id)


def job_run(job_id: str, raw: dict[bytes, bytes]) -> Any:
    """The run span of a begun job (``worker.job_run``)."""
    if state.tracer is None:
        return NOOP
    from workers.tracing.worker import job_run as span

    return span(job_id, raw)


def host_call(op: str, method: str, url: str) -> Any:
    """A script's outbound request, as a client span of its run."""
    if state.tracer is None:
        return NOOP
    from workers.tracing.worker import host_call as span

    return span(op, method, url)


def kv_event(op: str) -> None:
    """A script's KV operation, as an event of its run's span."""
    if state.tracer is not None:
        from workers.tracing.worker import kv_event as event

        event(op)


def script_traceparent() -> str | None:
    """The running script's ``context.traceparent`` (None while off)."""
    if state.tracer is None:
        return None
    from workers.tracing.worker import script_traceparent as current

    return current()


def callback_attempt(job_id: str, raw: dict[bytes, bytes]) -> Any:
    """One callback attempt's client span, in the job's trace."""
    if state.tracer is None:
        return NOOP
    from workers.tracing.worker import callback_attempt as span

    return span(job_id, raw)


def log_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids in hex, for a log line."""
    if state.tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"
