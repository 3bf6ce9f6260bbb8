"""A sync job's answer, carried in the publish that says it ended.

FINISH publishes a sync-lane job's end; with the fields a sync response needs
in that same message, the web's waiter answers its caller without reading
the job back (one Redis round trip fewer on every sync request). The message
is the job id, a newline, then each field as ``<len>:<name><len>:<value>``.
An answer too big to send to every web process (``MAX_ANSWER_BYTES``) is not
sent: the job's id alone is published, and the waiter reads the job.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MAX_ANSWER_BYTES", "message", "encode", "decode", "answer_fields"]

# Every web process receives every sync answer: past this, only the job id.
MAX_ANSWER_BYTES = 64 * 1024
_ECHO = b"resultBodyIsRequestBody"  # records._ECHO: the result body is the request's
_BODY_FIELDS = (b"body", b"bodyZ")  # records.packed("body", ...)


def answer_fields(
    written: Mapping[str, bytes | str | int | float], raw: Mapping[bytes, bytes]
) -> dict[bytes, bytes]:
    """What a sync response reads of a finished job: the fields FINISH writes
    (``written``), and, when the result body is the request's own (an echo,
    stored once), the request body's field from ``raw``."""
    fields = {name.encode(): _bytes(value) for name, value in written.items()}
    if _ECHO in fields:
        fields.update((name, raw[name]) for name in _BODY_FIELDS if name in raw)
    return fields


def message(
    job_id: str, written: Mapping[str, bytes | str | int | float], raw: Mapping[bytes, bytes] | None
) -> bytes:
    """What FINISH publishes for a job whose fields are ``raw`` (None: not a
    sync job) and that writes ``written``: b'' for the job id alone."""
    if raw is None:
        return b""
    return encode(job_id, answer_fields(written, raw)) or b""


def encode(job_id: str, fields: Mapping[bytes, bytes]) -> bytes | None:
    """The published answer, or None if it would pass ``MAX_ANSWER_BYTES``."""
    parts = [job_id.encode(), b"\n"]
    for name, value in fields.items():
        parts.append(b"%d:%s%d:%s" % (len(name), name, len(value), value))
    message = b"".join(parts)
    return message if len(message) <= MAX_ANSWER_BYTES else None


def decode(message: bytes) -> tuple[str, dict[bytes, bytes]]:
    """(job id, its fields) from an ``encode``d answer; raises ValueError on a
    malformed one."""
    head, sep, rest = message.partition(b"\n")
    if not sep:
        raise ValueError("not a sync answer")
    fields: dict[bytes, bytes] = {}
    pos, end = 0, len(rest)
    while pos < end:
        name, pos = _chunk(rest, pos)
        value, pos = _chunk(rest, pos)
        fields[name] = value
    return head.decode(), fields


def _chunk(data: bytes, pos: int) -> tuple[bytes, int]:
    colon = data.index(b":", pos)
    size = int(data[pos:colon])
    start = colon + 1
    if size < 0 or start + size > len(data):
        raise ValueError("a sync answer's field runs past its end")
    return data[start : start + size], start + size


def _bytes(value: bytes | str | int | float) -> bytes:
    # As redis-py encodes a command's arguments (str(float) for floats).
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else repr(value)).encode()
