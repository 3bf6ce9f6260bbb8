"""What every tracing helper answers while tracing is off: one shared
object, no OpenTelemetry import, no allocation per event."""

from __future__ import annotations

from typing import Any

__all__ = ["NOOP"]


class _Noop:
    """Every helper's answer while tracing is off: a context manager whose
    methods do nothing (one shared instance, no allocation per event)."""

    __slots__ = ()

    def __enter__(self) -> _Noop:
        return self

    def __exit__(self, *_: object) -> bool:
        return False

    def __bool__(self) -> bool:
        return False

    def job_fields(self) -> dict[str, str]:
        return {}

    def headers(self, headers: Any, propagate: bool = False) -> Any:
        return headers

    def traceparent(self) -> None:
        return None

    def _nothing(self, *_: Any, **__: Any) -> None:
        return None

    job = answered = ended = propagate = end = target = attempted = failed = _nothing


NOOP: Any = _Noop()
