"""Caps on what one run may write into its job, checked in Python.

The runtime caps logs too, but a script can reach into the runtime's own
arrays through the prototypes they share (``Array.prototype.push`` replaced
by the script is called with the runtime's array as ``this``), so nothing it
hands back is trusted: every cap is checked here again, and going over one
fails the job as ``output`` with a message that says which and by how much.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["cap_logs", "headers_over", "output_over"]


class _Limits(Protocol):
    max_log_lines: int
    max_log_bytes: int
    max_header_count: int
    max_header_bytes: int


def output_over(data: bytes, limit: int, what: str) -> str | None:
    if len(data) <= limit:
        return None
    return f"{what} is {len(data)} bytes, over the limit of {limit} bytes"


def cap_logs(raw: Any, limits: _Limits) -> tuple[list[dict[str, str]], int]:
    """The log lines that fit the caps (lines, and UTF-8 bytes of messages),
    and how many were dropped."""
    if not isinstance(raw, list):
        return [], 0
    kept: list[dict[str, str]] = []
    used = 0
    for line in raw[: limits.max_log_lines]:
        if not isinstance(line, dict):
            continue
        message = str(line.get("message", ""))
        size = len(message.encode("utf-8", "replace"))
        if used + size > limits.max_log_bytes:
            room = limits.max_log_bytes - used
            if room <= 0:
                break
            message = message.encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
            size = room
        used += size
        kept.append({"level": str(line.get("level", "log"))[:8], "message": message})
    return kept, len(raw) - len(kept)


def headers_over(headers: dict[str, str] | None, limits: _Limits) -> str | None:
    if not headers:
        return None
    if len(headers) > limits.max_header_count:
        return (
            f"the response has {len(headers)} headers, over the limit of {limits.max_header_count}"
        )
    size = sum(len(k.encode()) + len(str(v).encode()) + 4 for k, v in headers.items())
    if size > limits.max_header_bytes:
        return (
            f"the response headers are {size} bytes, over the limit of "
            f"{limits.max_header_bytes} bytes"
        )
    return None
