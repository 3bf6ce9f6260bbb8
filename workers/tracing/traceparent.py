"""W3C ``traceparent`` values: read strictly, written in one place.

A sender's header is untrusted input: anything that is not a well-formed
version-00-compatible value is ignored (no link, no parent), never an error.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Parent", "parse", "format_parent", "trace_id_of"]

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


class Parent(NamedTuple):
    """A span context read from a ``traceparent``."""

    trace_id: int
    span_id: int
    flags: int


def parse(value: str | bytes | None) -> Parent | None:
    """The span context in ``value``, or None if it is absent or malformed
    (version ``ff``, an all-zero id, upper-case hex, or version 00 with
    anything after the flags are all refused, as the W3C spec says)."""
    if not value:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE:
        return None
    if span_id == _ZERO_SPAN:
        return None
    return Parent(int(trace_id, 16), int(span_id, 16), int(flags, 16))


def format_parent(trace_id: int, span_id: int, flags: int) -> str:
    """The ``traceparent`` header value (version 00) for a span context."""
    return f"00-{trace_id:032x}-{span_id:016x}-{flags & 0xFF:02x}"


def trace_id_of(value: str | bytes | None) -> str | None:
    """The trace id (32 hex characters) of a stored ``traceparent``."""
    parent = parse(value)
    return None if parent is None else f"{parent.trace_id:032x}"
