"""CREATE's call (``JobStore.create``: the intake's one Lua step per event),
its unchanging parts built once per process.

The key prefixes and the ordering's keys never change: they are written into
the script as constants (``LuaStep``'s constants, as FINISH does), not sent
with every call (Redis parses each argument: ~0.1 µs apiece). The fleet-wide
KEYS stay KEYS (a script declares what it touches), read once. Per call,
only the event's own values are put in the records' order, as plain lists:
building the frozen KEYS/ARGV records and reading them back cost ~10 µs of
the web process's CPU per event.
"""

from __future__ import annotations

import functools
from dataclasses import fields
from typing import Any

from redis.exceptions import NoScriptError

from workers.store import keys
from workers.store.jobs import scripts as lua
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.lanes.lane import Lane
from workers.store.lanes.linger import lane_linger_keys
from workers.store.lua import LuaStep
from workers.store.ordering.scripts import order_args

__all__ = ["CreateStep", "create_constants"]

Value = str | bytes | int | float


@functools.cache
def create_constants() -> dict[str, str]:
    """CREATE's ARGV that never change (key prefixes, the ordering's keys, a
    status): 12 arguments fewer per call."""
    return {**vars(HookIndexArgs.build()), **vars(order_args())}


class CreateStep(LuaStep):
    """CREATE registered on ``client``; ``send`` runs it with the per-event
    values (``CreateKeys``/``CreateArgs`` field names, constants left out).
    ``body``: another Lua for the same call (tests)."""

    def __init__(self, client: Any, body: str = lua.CREATE) -> None:
        constants = create_constants()
        super().__init__(client, body, lua.CreateKeys, lua.CreateArgs, constants)
        self._key_names = tuple(f.name for f in fields(lua.CreateKeys))
        self._arg_names = tuple(f.name for f in fields(lua.CreateArgs) if f.name not in constants)
        fixed = {**vars(IndexKeys.build()), "metrics_key": keys.metrics()}
        # The fixed KEYS and the lingering ones, by lane kind (sync, async).
        self._fixed_keys = {
            is_sync: {**fixed, **lane_linger_keys(Lane("", None, is_sync))}
            for is_sync in (True, False)
        }

    def values(
        self, lane: Lane, event_keys: dict[str, str], event_args: dict[str, Value]
    ) -> tuple[list[str], list[Value]]:
        """KEYS and ARGV in the script's order: ``event_keys`` (every
        per-event key of ``CreateKeys``) after the fixed ones, ``event_args``
        (every ``CreateArgs`` field but the constants). A missing one raises
        ``KeyError``."""
        key_map = {**self._fixed_keys[lane.is_sync], **event_keys}
        return [key_map[n] for n in self._key_names], [event_args[n] for n in self._arg_names]

    def send(
        self, key_values: list[str], arg_values: list[Value], tail: list[Value], client: Any = None
    ) -> Any:
        """Run it with ``values``' lists and the TAIL (on ``client``, a
        pipeline, if given: redis-py's ``Script`` loads it at execute). Sent
        as a plain EVALSHA (``Script``'s call copies the arguments and imports
        per call), loaded again after NOSCRIPT (a restart, a failover)."""
        if client is not None:
            return self._script(keys=key_values, args=arg_values + tail, client=client)
        runner = self._script.registered_client
        call = (len(key_values), *key_values, *arg_values, *tail)
        try:
            return runner.evalsha(self._script.sha, *call)
        except NoScriptError:
            self.load()
            return runner.evalsha(self._script.sha, *call)
