"""The workers' spans, all in the trace whose context the job's record
carries (``traceparent``, written by the intake in the job's CREATE): the
time the job waited in its lane, the script's run, a client span per
outbound host call (``fetch``, ``op_proxy_request``), KV operations as
events of the run, and one client span per callback attempt.

A job with no ``traceparent`` (accepted while tracing was off, a test run)
makes no spans. Outgoing ``traceparent`` headers only when the hook asks
(``"trace": {"propagate": true}``): a trace id is never handed to a third
party by default.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from opentelemetry.trace import SpanKind, StatusCode

from workers.tracing.noop import NOOP
from workers.tracing.setup import state
from workers.tracing.spans import Active, context_of, traceparent_of
from workers.tracing.traceparent import parse

__all__ = [
    "RunSpan",
    "callback_attempt",
    "host_call",
    "job_run",
    "kv_event",
    "script_traceparent",
    "with_traceparent",
]

_run: ContextVar[RunSpan | None] = ContextVar("hooklet_run_span", default=None)


def _ns(raw: dict[bytes, bytes], name: bytes, default: int) -> int:
    value = raw.get(name)
    try:
        return int(float(value) * 1e9) if value else default
    except ValueError:
        return default


def with_traceparent(headers: Any, traceparent: str) -> Any:
    """``headers`` (an object or [name, value] pairs) with ``traceparent``
    added, unless the caller already set one."""
    if isinstance(headers, dict):
        if any(str(name).lower() == "traceparent" for name in headers):
            return headers
        return {**headers, "traceparent": traceparent}
    pairs = list(headers or ())
    if any(str(name).lower() == "traceparent" for name, _ in pairs):
        return pairs
    return [*pairs, ("traceparent", traceparent)]


class RunSpan(Active):
    """A job's run; its host calls find it as the run in progress."""

    __slots__ = ("propagates", "_run_token")

    def __init__(self, span: Any) -> None:
        super().__init__(span)
        self.propagates = False
        self._run_token: Any = None

    def __enter__(self) -> RunSpan:
        super().__enter__()
        self._run_token = _run.set(self)
        return self

    def __exit__(self, *exc: Any) -> bool:
        _run.reset(self._run_token)
        return super().__exit__(*exc)

    def propagate(self, on: bool) -> None:
        """Whether this run's outbound requests carry ``traceparent``."""
        self.propagates = on

    def ended(
        self,
        status: str,
        reason: str | None,
        error: str | None,
        duration_ms: float,
        heap_used_bytes: int | None,
        version: int,
    ) -> None:
        attributes: dict[str, Any] = {
            "hooklet.script.version": version,
            "hooklet.job.outcome": status,
            "hooklet.script.duration_ms": duration_ms,
        }
        if heap_used_bytes is not None:
            attributes["hooklet.script.heap_used_bytes"] = heap_used_bytes
        if reason is not None:
            attributes["hooklet.job.failure_reason"] = attributes["error.type"] = reason
            self.span.set_status(StatusCode.ERROR, (error or reason)[:200])
        self.span.set_attributes(attributes)  # one call: each takes the span's lock


def job_run(job_id: str, raw: dict[bytes, bytes]) -> Any:
    """The run of a begun job; first records the time it waited, from its
    creation to its start, as a span of its own."""
    tracer = state.tracer
    if tracer is None:
        return NOOP
    parent = parse(raw.get(b"traceparent"))
    if parent is None:
        return NOOP
    context = context_of(parent)
    now = time.time_ns()
    started = min(_ns(raw, b"startedAt", now), now)
    created = min(_ns(raw, b"createdAt", started), started)
    attributes = {"hooklet.job.id": job_id, "hooklet.hook.id": (raw.get(b"hookId") or b"").decode()}
    queued = tracer.start_span(
        "hooklet.queued",
        context,
        attributes={**attributes, "hooklet.lane": (raw.get(b"lane") or b"").decode()},
        start_time=created,
    )
    queued.end(end_time=started)
    attempt = raw.get(b"attempts") or b"0"
    span = tracer.start_span(
        "hooklet.run",
        context,
        kind=SpanKind.CONSUMER,
        attributes={**attributes, "hooklet.job.attempt": int(attempt)},
    )
    return RunSpan(span)


def script_traceparent() -> str | None:
    """The run's ``traceparent``, as the script's ``context.traceparent``."""
    run = _run.get()
    return None if run is None else traceparent_of(run.span)


class HostCallSpan:
    """One outbound request of a script (a client span, begun when made)."""

    __slots__ = ("span", "_propagate")

    def __init__(self, span: Any, propagate: bool) -> None:
        self.span = span
        self._propagate = propagate

    def headers(self, headers: Any) -> Any:
        if not self._propagate:
            return headers
        return with_traceparent(headers, traceparent_of(self.span))

    def end(
        self,
        status: int | None = None,
        bytes_in: int | None = None,
        bytes_out: int | None = None,
        error: str | None = None,
    ) -> None:
        span = self.span
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 400:
                span.set_attribute("error.type", str(status))
                span.set_status(StatusCode.ERROR)
        if bytes_in is not None:
            span.set_attribute("http.response.body.size", bytes_in)
        if bytes_out:
            span.set_attribute("http.request.body.size", bytes_out)
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(StatusCode.ERROR)
        span.end()


def host_call(op: str, method: str, url: str) -> Any:
    """The client span of a script's request to ``url`` (already without its
    query and credentials); a child of the run in progress."""
    run = _run.get()
    if run is None:
        return NOOP
    span = state.tracer.start_span(
        method,
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method, "url.full": url, "hooklet.host_call": op},
    )
    return HostCallSpan(span, run.propagates)


def kv_event(op: str) -> None:
    """A KV operation of the run in progress, as an event on its span."""
    run = _run.get()
    if run is not None:
        run.span.add_event(f"kv.{op}")


class CallbackSpan(Active):
    """One callback delivery attempt."""

    __slots__ = ()

    def headers(self, headers: dict[str, str], propagate: bool) -> dict[str, str]:
        if not propagate:
            return headers
        return with_traceparent(headers, traceparent_of(self.span))

    def target(self, url: str) -> None:
        self.span.set_attribute("url.full", url)

    def attempted(
        self, attempt: int, status_code: int | None, outcome: str, error: str | None
    ) -> None:
        span = self.span
        span.set_attribute("hooklet.callback.attempt", attempt)
        span.set_attribute("hooklet.delivery.status", outcome)
        if status_code is not None:
            span.set_attribute("http.response.status_code", status_code)
        if error is not None or status_code is None or not 200 <= status_code < 300:
            span.set_attribute("error.type", error or str(status_code))
            span.set_status(StatusCode.ERROR, error)


def callback_attempt(job_id: str, raw: dict[bytes, bytes]) -> Any:
    """A callback attempt's client span, in the job's trace."""
    tracer = state.tracer
    if tracer is None:
        return NOOP
    parent = parse(raw.get(b"traceparent"))
    if parent is None:
        return NOOP
    span = tracer.start_span(
        "POST",
        context_of(parent),
        kind=SpanKind.CLIENT,
        attributes={
            "http.request.method": "POST",
            "hooklet.job.id": job_id,
            "hooklet.hook.id": (raw.get(b"hookId") or b"").decode(),
        },
    )
    return CallbackSpan(span)
