"""The web side's spans: the intake's server span (one per event received,
the trace's root unless the hook continues the caller's trace) and a
replay's start of a new trace linked to the original's."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.trace import SpanKind, StatusCode

from workers.tracing.noop import NOOP
from workers.tracing.setup import state
from workers.tracing.spans import ROOT, Active, context_of, link_to, traceparent_of
from workers.tracing.traceparent import parse

__all__ = ["IntakeSpan", "intake", "now_ns", "replay_fields"]

ROUTE = "/h/{hook}"


def now_ns() -> int:
    """When a request began (0 while tracing is off: nothing reads it)."""
    return time.time_ns() if state.tracer is not None else 0


class IntakeSpan(Active):
    __slots__ = ()

    def job_fields(self) -> dict[str, str]:
        """What the job's record carries: this span's ``traceparent``, so the
        worker's and the callbacks' spans join this trace."""
        return {"traceparent": traceparent_of(self.span)}

    def job(self, job_id: str) -> None:
        self.span.set_attribute("hooklet.job.id", job_id)

    def answered(self, status: int) -> None:
        self.span.set_attribute("http.response.status_code", status)
        if status >= 500:
            self.span.set_status(StatusCode.ERROR)

    def failed(self, exc: BaseException) -> None:
        status = getattr(exc, "status", 500)
        self.answered(status if isinstance(status, int) else 500)
        if not isinstance(status, int) or status >= 500:
            super().failed(exc)
        else:
            self.span.set_attribute("error.type", getattr(exc, "code", type(exc).__name__))


def intake(
    hook_id: str,
    method: str,
    incoming: str | None,
    continue_incoming: bool,
    start_ns: int,
    project: str | None = None,
) -> Any:
    """The server span of a request to ``/h/<hook>`` (begun at ``start_ns``).
    A valid incoming ``traceparent`` is the parent with ``continue_incoming``,
    else a link: the sender's trace is found from the event's, never joined
    by default."""
    tracer = state.tracer
    if tracer is None:
        return NOOP
    parent = parse(incoming)
    context, links = ROOT, None
    if parent is not None:
        if continue_incoming:
            context = context_of(parent)
        else:
            links = [link_to(parent)]
    attributes = {"http.request.method": method, "http.route": ROUTE, "hooklet.hook.id": hook_id}
    if project:
        attributes["hooklet.project"] = project
    span = tracer.start_span(
        f"{method} {ROUTE}",
        context,
        kind=SpanKind.SERVER,
        attributes=attributes,
        links=links,
        start_time=start_ns or None,
    )
    return IntakeSpan(span)


def replay_fields(original: bytes | str | None, hook_id: str, job_id: str) -> dict[str, str]:
    """A replay's own trace, linked to the original event's: the new job's
    record carries it (nothing while tracing is off)."""
    tracer = state.tracer
    if tracer is None:
        return {}
    parent = parse(original)
    span = tracer.start_span(
        "hooklet.replay",
        ROOT,
        attributes={"hooklet.hook.id": hook_id, "hooklet.replay_of": job_id},
        links=[link_to(parent)] if parent is not None else None,
    )
    span.end()
    return {"traceparent": traceparent_of(span)}
