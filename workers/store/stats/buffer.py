"""Each process's stats writes (workers/store/stats/buckets.py), merged in memory and
written to Redis in one call about once a second, off the job path.

The job store's Lua steps used to apply them with every create and finish,
on the serial path of every event; now an intake or a worker child adds a
``StatsWrite`` here (a dict update under a lock) and a daemon thread (a
greenlet under gevent) flushes every ``HOOKLET_STATS_FLUSH_S``. A flush
never raises: on a Redis error it logs and drops what it held. Stats of the
last second of a process that dies without a shutdown hook are lost.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import redis

from workers.settings import Settings
from workers.store.connection import client_for
from workers.store.lua import lua_source
from workers.store.stats.buckets import TTL_S, StatsWrite

__all__ = ["StatsBuffer", "buffer_for", "flush_process_buffers", "MAX_ENTRIES"]

log = logging.getLogger("hooklet.stats")

# Past this many merged fields a buffer flushes at once, on the adding caller
# (memory stays bounded whatever the thread is doing; a failed flush drops).
# A second's worth is far fewer (~8 per hook active in it); the cap also
# bounds how long one flush holds Redis (a few ms).
MAX_ENTRIES = 5_000
_MIN_FLUSH_S = 0.05

_FLUSH = lua_source("stats/flush.lua")

# (hash key, op, field, queue key or ''): what merges into one field write.
_Entry = tuple[str, str, str, str]


class StatsBuffer:
    """``StatsWrite`` operations merged per (minute's hash, field): ``i``
    sums, ``x`` keeps the max, ``s`` keeps the last value, ``q`` names the
    queue whose length is sampled at the flush. ``flush`` writes them all in
    one EVALSHA; a daemon thread calls it every ``flush_s`` once something
    has been added (started lazily, in the process that adds)."""

    def __init__(
        self, client: redis.Redis, flush_s: float = 1.0, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._client = client
        self._script = client.register_script(_FLUSH)
        self.flush_s = max(flush_s, _MIN_FLUSH_S)
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[_Entry, Any] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._failing = False

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, write: StatsWrite) -> None:
        hook_key, fleet_key = write.keys
        with self._lock:
            entries = self._entries
            for target, op, field, value in write.ops:
                key = hook_key if target == "h" else fleet_key
                if op == "q":
                    entries[(key, op, field, str(value))] = 0
                    continue
                entry = (key, op, field, "")
                old = entries.get(entry)
                if old is None or op == "s":
                    entries[entry] = value
                elif op == "i":
                    entries[entry] = old + value
                elif value > old:  # "x"
                    entries[entry] = value
            full = len(entries) >= self._max_entries
        self._start_thread()
        if full:
            self.flush()

    def flush(self) -> bool:
        """Write what the buffer holds in one Redis call. False (logged, the
        operations dropped) if Redis refused it; never raises."""
        with self._lock:
            entries, self._entries = self._entries, {}
        if not entries:
            return True
        try:
            keys, args = _encode(entries)
            self._script(keys=keys, args=args)
        except Exception:  # noqa: BLE001 - stats never break the job path
            if not self._failing:
                log.warning("stats flush failed; %d fields dropped", len(entries), exc_info=True)
            self._failing = True
            return False
        if self._failing:
            log.info("stats flush works again")
            self._failing = False
        return True

    def stop(self) -> None:
        """Stop the thread and flush what is left (at process shutdown)."""
        self._stop.set()
        self.flush()

    def _start_thread(self) -> None:
        if self._thread is not None or self._stop.is_set():
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="hooklet-stats-flush", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            self.flush()


def _encode(entries: dict[_Entry, Any]) -> tuple[list[str], list[Any]]:
    index: dict[str, int] = {}

    def at(key: str) -> int:
        return index.setdefault(key, len(index) + 1)

    args: list[Any] = [TTL_S]
    for (key, op, field, queue), value in entries.items():
        args += [at(key), op, field, at(queue) if op == "q" else value]
    return list(index), args


# One buffer per process and Redis: created after fork, by the process that
# adds to it (a child never flushes what its parent held when it forked).
_buffers: dict[tuple[int, str, str], StatsBuffer] = {}


def buffer_for(settings: Settings) -> StatsBuffer:
    """This process's buffer for the Redis ``settings`` name."""
    key = (os.getpid(), settings.redis_url, settings.redis_sentinel_master)
    buffer = _buffers.get(key)
    if buffer is None:
        buffer = _buffers.setdefault(key, StatsBuffer(client_for(settings), settings.stats_flush_s))
    return buffer


def flush_process_buffers() -> None:
    """Stop and flush this process's buffers (a Celery child's or a gunicorn
    worker's exit)."""
    pid = os.getpid()
    for (owner, *_), buffer in list(_buffers.items()):
        if owner == pid:
            buffer.stop()
