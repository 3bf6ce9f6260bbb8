"""The Lua behind the script KV (``kv/store.py``): every write is one atomic step
that checks the quotas first and writes nothing when one is over."""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.lua import lua_source

__all__ = ["KvKeys", "SetArgs", "SweepArgs", "DeleteArgs", "SET", "DELETE", "SWEEP"]


@dataclass(frozen=True)
class KvKeys:
    data: str
    meta: str
    index: str
    expiry: str
    stats: str


@dataclass(frozen=True)
class SetArgs:
    key: str
    value: bytes
    now: int
    expires_at: int  # 0: never
    if_absent: int  # 1: keep a live value
    max_entries: int
    max_total_bytes: int
    project_max_bytes: int | str = ""  # the project's kvBytes ('' for none)
    # TAIL: the stats keys of the project's other hooks


@dataclass(frozen=True)
class DeleteArgs:
    key: str


@dataclass(frozen=True)
class SweepArgs:
    now: int
    limit: int


SWEEP = lua_source("kv/sweep.lua", include=("kv/remove.lua",))

SET = lua_source("kv/set.lua", include=("kv/remove.lua",))

DELETE = lua_source("kv/delete.lua", include=("kv/remove.lua",))
