"""Packing Redis commands with hiredis in one C call.

redis-py's own packer runs its Python encoder on every argument before
hiredis packs them: a CREATE or FINISH ``EVALSHA`` of some 75 arguments
spent about 50 µs of a process's CPU there, more than the round trip
itself (a ``PING`` is about 27 µs). hiredis packs ``str`` (UTF-8), ``bytes``,
``int`` and ``float`` (``repr``) itself, exactly as redis-py's encoder does.
Anything else (a multi-word command name such as ``CONFIG GET``, a ``bool``,
``None``, a ``bytearray``) goes to redis-py's packer, which converts it or
raises its usual ``DataError``.
"""

from __future__ import annotations

from typing import Any

import hiredis
from redis.connection import HiredisRespSerializer, PythonRespSerializer
from redis.exceptions import DataError

__all__ = ["COMMAND_PACKER", "FastCommandPacker"]

# redis-py's default: the cut-off under which its Python packer joins chunks.
_BUFFER_CUTOFF = 6000


def _encode(value: Any) -> Any:
    """redis-py's ``Encoder.encode`` with its defaults (UTF-8, strict)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    if isinstance(value, bool):
        raise DataError(
            "Invalid input of type: 'bool'. Convert to a bytes, string, int or float first."
        )
    if isinstance(value, (int, float)):
        return repr(value).encode()
    if not isinstance(value, str):
        raise DataError(
            f"Invalid input of type: '{type(value).__name__}'. "
            "Convert to a bytes, string, int or float first."
        )
    return value.encode("utf-8", "strict")


class FastCommandPacker:
    """A ``command_packer`` for redis-py connections using UTF-8 (its default)."""

    def __init__(self) -> None:
        fallback = PythonRespSerializer(_BUFFER_CUTOFF, _encode)
        self._slow = HiredisRespSerializer(fallback.pack, _encode)

    def pack(self, *args: Any) -> list[bytes]:
        name = args[0]
        if type(name) is str and " " not in name:
            try:
                return [hiredis.pack_command(args)]
            except TypeError:
                pass  # bool, None, bytearray...: redis-py converts or refuses it
        return self._slow.pack(*args)


# Stateless: one is shared by every connection of the process.
COMMAND_PACKER = FastCommandPacker()
