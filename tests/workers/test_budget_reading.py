"""The intake's memory reading (``MemoryBudget.make_room``): an old reading is
read again by one request at a time, the others use the last one; past the
share of the room a process may write unread, every request reads (d282d09).
Against a real redis-server."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis

from tests.support.stack import RedisServer
from workers.settings import Settings
from workers.store.budget import _PRESSURE_TTL_S, MemoryBudget


class GatedRedis(redis.Redis):
    """Counts ``INFO memory`` calls; the one after ``hold()`` waits until
    ``release`` is set (a slow Redis answering one request)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reads = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self._held = False

    def hold(self) -> None:
        self._held = True

    def info(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        if self._held:
            self._held = False
            self.entered.set()
            self.release.wait(30)
        return super().info(*args, **kwargs)


def test_one_request_reads_again_while_the_others_use_the_last_reading(
    own_redis: RedisServer,
) -> None:
    client = GatedRedis(port=own_redis.port)
    limit = client.config_get("maxmemory")["maxmemory"]
    client.config_set("maxmemory", 256 * 2**20)
    try:
        budget = MemoryBudget(client, Settings())
        budget.make_room(incoming_bytes=1024)
        assert client.reads == 1
        time.sleep(_PRESSURE_TTL_S + 0.05)  # the reading is old now

        client.hold()
        reader = threading.Thread(target=budget.make_room, kwargs={"incoming_bytes": 1024})
        reader.start()
        assert client.entered.wait(10)
        for _ in range(20):  # meanwhile: the last reading, no INFO each
            budget.make_room(incoming_bytes=1024)
        assert client.reads == 2

        # Past a quarter of the room below the mark: this request reads, even now.
        budget.make_room(incoming_bytes=200 * 2**20)
        assert client.reads == 3
        client.release.set()
        reader.join(10)
        assert not reader.is_alive()
    finally:
        client.release.set()
        client.config_set("maxmemory", limit)
