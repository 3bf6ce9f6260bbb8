"""The upgrade page's clean-up of old search index entries, run as written
against a real redis-server: entries of jobs that are gone are dropped,
entries of live jobs and the expiry record are kept."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.docs.blocks import block
from tests.docs.run import run_block
from tests.support.stack import RedisServer
from workers.store import keys

_DB = 7  # a database of its own on the session's redis-server


def test_index_cleanup_drops_only_entries_of_jobs_that_are_gone(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/{_DB}"
    r = redis.Redis.from_url(url)
    r.flushdb()
    try:
        r.hset(keys.job("live"), "status", "succeeded")
        for index in (keys.jobs_index(), keys.hook_jobs_index("h"), keys.failed_jobs_index()):
            r.zadd(index, {"live": 1, "gone-before-upgrade": 2})
        r.zadd(keys.index_expiry(), {"live": "+inf", "gone-after": 5})
        r.set("unrelated", "kept")

        result = run_block(block("upgrade-index-cleanup"), tmp_path, env={"HOOKLET_REDIS_URL": url})

        assert "dropped 3 index entries" in result.stdout, result.stdout
        for index in (keys.jobs_index(), keys.hook_jobs_index("h"), keys.failed_jobs_index()):
            assert r.zrange(index, 0, -1) == [b"live"]
        assert r.zcard(keys.index_expiry()) == 2  # not an index of jobs: untouched
        assert r.get("unrelated") == b"kept"
    finally:
        r.flushdb()
