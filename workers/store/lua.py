"""Lua steps with named arguments.

A step has a record (a dataclass) for its KEYS and one for its ARGV, whose
field order is the index order. ``LuaStep`` prepends ``local <field> =
KEYS[i]`` / ``ARGV[i]`` lines built from the records, so the Lua reads names,
never positions; job statuses are defined the same way from ``JobStatus``.
Variable-length arguments (field/value pairs, counters) follow the record's
fields; the Lua finds them from ``TAIL``, the first index after them. A record
repeated in the TAIL (several outcomes of one step) is read by name too:
``lua_reader`` makes the Lua function that reads one, ``record_values`` its
values in that order.

The Lua itself lives in ``.lua`` files beside the modules that run it
(package data, so an editor sees Lua as Lua). ``lua_source`` reads one
step's file after the shared fragments it names (``include``: functions
such as ``jobs/index.lua``), in that order, paths relative to
``workers/store``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from functools import cache
from importlib import resources
from typing import Any

from workers.store.jobs.records import JobStatus

__all__ = ["LuaStep", "lua_reader", "lua_source", "record_values"]

Value = str | bytes | int | float


@cache
def _read(name: str) -> str:
    return resources.files("workers.store").joinpath(name).read_text(encoding="utf-8")


def lua_source(name: str, include: Sequence[str] = ()) -> str:
    """The Lua of one step: each file of ``include`` (shared functions), then
    the step's own file ``name`` (paths relative to ``workers/store``)."""
    return "".join(_read(part) + "\n" for part in (*include, name))


def _values(record: Any) -> list[Value]:
    return [getattr(record, f.name) for f in fields(record)]


record_values = _values


def lua_reader(name: str, record_type: type) -> str:
    """Lua ``read_<name>(i)``: the ``record_type`` record whose values start at
    ARGV[i] (``record_values``), as a table by field name, and the index after it."""
    names = [f.name for f in fields(record_type)]
    table = "".join(f"    {field} = ARGV[i + {n}],\n" for n, field in enumerate(names))
    return f"local function read_{name}(i)\n  return {{\n{table}  }}, i + {len(names)}\nend\n"


def _lua_string(value: str) -> str:
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"not a Lua constant: {value!r}")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _prologue(keys_type: type, args_type: type, constants: Mapping[str, str]) -> str:
    lines = [f"local {f.name} = KEYS[{i}]" for i, f in enumerate(fields(keys_type), 1)]
    sent = [f.name for f in fields(args_type) if f.name not in constants]
    lines += [f"local {name} = ARGV[{i}]" for i, name in enumerate(sent, 1)]
    lines += [f"local {name} = {_lua_string(value)}" for name, value in constants.items()]
    lines.append(f"local TAIL = {len(sent) + 1}")
    lines += [f"local {s.name} = '{s.value}'" for s in JobStatus]
    return "\n".join(lines) + "\n"


class LuaStep:
    """One registered script with named KEYS and ARGV. ``constants``: ARGV
    fields whose value never changes (key prefixes, channel names), written
    into the script instead of sent with every call (Redis parses each
    argument of every call: ~0.1 µs each); the record's own value for such a
    field is not sent."""

    def __init__(
        self,
        client: Any,
        body: str,
        keys_type: type,
        args_type: type,
        constants: Mapping[str, str] | None = None,
    ) -> None:
        constants = dict(constants or {})
        unknown = set(constants) - {f.name for f in fields(args_type)}
        if unknown:
            raise ValueError(f"constants that are no ARGV field: {sorted(unknown)}")
        self._sent = [f.name for f in fields(args_type) if f.name not in constants]
        self.source = _prologue(keys_type, args_type, constants) + body
        self._script = client.register_script(self.source)

    def _argv(self, args: Any) -> list[Value]:
        return [getattr(args, name) for name in self._sent]

    def __call__(
        self, keys: Any, args: Any, tail: list[Value] | tuple[()] = (), client: Any = None
    ) -> Any:
        """Run it (on ``client``, e.g. a pipeline, if given)."""
        return self._script(keys=_values(keys), args=[*self._argv(args), *tail], client=client)

    def queue(self, pipe: Any, keys: Any, args: Any, tail: list[Value] | tuple[()] = ()) -> None:
        """Queue it on ``pipe`` as a plain EVALSHA: redis-py's own script
        pipelining asks ``SCRIPT EXISTS`` on every execute, a round trip of
        its own. A ``NoScriptError`` in the replies means: ``load`` and retry."""
        values = _values(keys)
        pipe.execute_command(
            "EVALSHA", self._script.sha, len(values), *values, *self._argv(args), *tail
        )

    def load(self) -> None:
        """Load the script into Redis (after a restart or a failover lost it)."""
        self._script.sha = self._script.registered_client.script_load(self.source)
