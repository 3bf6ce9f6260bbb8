"""Lua steps with named arguments.

A step has a record (a dataclass) for its KEYS and one for its ARGV, whose
field order is the index order. ``LuaStep`` prepends ``local <field> =
KEYS[i]`` / ``ARGV[i]`` lines built from the records, so the Lua reads names,
never positions; job statuses are defined the same way from ``JobStatus``.
Variable-length arguments (field/value pairs, counters) follow the record's
fields; the Lua finds them from ``TAIL``, the first index after them.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from workers.store.job_records import JobStatus

__all__ = ["LuaStep"]

Value = str | bytes | int | float


def _values(record: Any) -> list[Value]:
    return [getattr(record, f.name) for f in fields(record)]


def _prologue(keys_type: type, args_type: type) -> str:
    lines = [f"local {f.name} = KEYS[{i}]" for i, f in enumerate(fields(keys_type), 1)]
    lines += [f"local {f.name} = ARGV[{i}]" for i, f in enumerate(fields(args_type), 1)]
    lines.append(f"local TAIL = {len(fields(args_type)) + 1}")
    lines += [f"local {s.name} = '{s.value}'" for s in JobStatus]
    return "\n".join(lines) + "\n"


class LuaStep:
    """One registered script with named KEYS and ARGV."""

    def __init__(self, client: Any, body: str, keys_type: type, args_type: type) -> None:
        self.source = _prologue(keys_type, args_type) + body
        self._script = client.register_script(self.source)

    def __call__(
        self, keys: Any, args: Any, tail: list[Value] | tuple[()] = (), client: Any = None
    ) -> Any:
        """Run it (on ``client``, e.g. a pipeline, if given)."""
        return self._script(keys=_values(keys), args=[*_values(args), *tail], client=client)
