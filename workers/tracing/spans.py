"""The span machinery the helpers share: a started span made current for a
block, the no-op stand-in returned while tracing is off, and contexts built
from stored ``traceparent`` values."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, StatusCode, TraceFlags

from workers.tracing.traceparent import Parent, format_parent

__all__ = ["Active", "ROOT", "context_of", "link_to", "traceparent_of"]

# An empty context: a span started in it is a root, whatever is current.
ROOT = otel_context.Context()


def _remote(parent: Parent) -> SpanContext:
    return SpanContext(
        parent.trace_id, parent.span_id, is_remote=True, trace_flags=TraceFlags(parent.flags)
    )


def context_of(parent: Parent) -> otel_context.Context:
    """A context whose current span is ``parent`` (a stored or received one)."""
    return trace.set_span_in_context(NonRecordingSpan(_remote(parent)), ROOT)


def link_to(parent: Parent) -> Link:
    return Link(_remote(parent))


def traceparent_of(span: Any) -> str:
    context = span.get_span_context()
    return format_parent(context.trace_id, context.span_id, context.trace_flags)


class Active:
    """A started span, current while its ``with`` block runs and ended after
    it. An exception leaving the block marks the span as an error."""

    __slots__ = ("span", "_token")

    def __init__(self, span: Any) -> None:
        self.span = span
        self._token: Any = None

    def __enter__(self) -> Any:
        self._token = otel_context.attach(trace.set_span_in_context(self.span))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        try:
            if exc is not None:
                self.failed(exc)
        finally:
            otel_context.detach(self._token)
            self.span.end()
        return False

    def failed(self, exc: BaseException) -> None:
        self.span.set_attribute("error.type", type(exc).__name__)
        self.span.set_status(StatusCode.ERROR, str(exc)[:200])

    def traceparent(self) -> str:
        return traceparent_of(self.span)
