"""CREATE's call (jobs/create.py): the unchanging arguments are written into
the script, not sent, and the keys it writes are still the right ones, on any
database, after Redis forgot its scripts too. Against a real redis-server."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
import redis

from app.group_commit import GroupCommitRedis
from tests.support.stack import RedisServer
from workers.errors import NotReplicated
from workers.store import keys
from workers.store.jobs.create import create_constants
from workers.store.jobs.records import EventRequest, new_job_id
from workers.store.jobs.scripts import CreateArgs, CreateKeys
from workers.store.jobs.store import Created, Extras, JobStore
from workers.store.lanes.lane import Lane

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")


class RecordingRedis(redis.Redis):
    """A client that keeps every EVALSHA it sends (what goes to the packer)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evalshas: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if args[0] == "EVALSHA":
            self.evalshas.append(args)
        return super().execute_command(*args, **options)


def _create(store: JobStore, hook_id: str, order_key: str) -> tuple[str, Created]:
    job_id = new_job_id()
    created, _ = store.create(
        job_id,
        hook_id,
        1,
        EVENT,
        5,
        ("test:queue", b"message"),
        also=Extras(indexed=True, order_key=order_key),
        lane=Lane(hook_id, 100, False),
    )
    return job_id, created


@pytest.mark.parametrize("db", [0, 3])
def test_create_sends_no_constant_and_writes_the_right_keys(
    own_redis: RedisServer, hook_id: str, db: int
) -> None:
    client = RecordingRedis(port=own_redis.port, db=db)
    store = JobStore(client, retention_s=600)
    first, created = _create(store, hook_id, "order-1")
    assert created is Created.OK
    second, created = _create(store, hook_id, "order-1")  # waits for the key
    assert created is Created.OK

    call = client.evalshas[-1]
    numkeys = call[2]
    argv = call[3 + numkeys :]
    constants = set(create_constants().values())
    assert not constants & set(argv), "a constant was sent"
    sent = [f.name for f in fields(CreateArgs) if f.name not in create_constants()]
    assert numkeys == len(fields(CreateKeys))
    # The ARGV sent: the per-event fields, then the job's field/value pairs.
    assert len(argv) > len(sent) and (len(argv) - len(sent)) % 2 == 0
    assert len(sent) == len(fields(CreateArgs)) - 12

    # What the constants name is written, on this database.
    assert client.hget(keys.job(first), "status") == b"queued"
    assert client.lrange(keys.history(hook_id), 0, -1) == [second.encode(), first.encode()]
    assert client.zscore(keys.hook_jobs_index(hook_id), first) is not None
    assert client.zscore(keys.hook_jobs(hook_id), second) is not None
    assert client.zscore(keys.jobs_index(), second) is not None
    key_id = keys.ordering_key_id("order-1")
    assert client.hget(keys.ordering(hook_id, key_id), "holder") == first.encode()
    assert client.lrange(keys.ordering_jobs(hook_id, key_id), 0, -1) == [second.encode()]
    assert int(client.hget(keys.ordering_waiting(), hook_id)) == 1
    assert client.lrange(keys.pending(hook_id), 0, -1) == [first.encode()]


def test_create_loads_its_script_again_after_redis_forgot_it(
    own_redis: RedisServer, hook_id: str
) -> None:
    """A restart or a failover empties Redis's script cache: the next
    CREATE (plain, grouped, or WAITing for replicas) loads it and writes."""
    client = own_redis.client()
    plain = JobStore(client, retention_s=600)
    grouped = JobStore(GroupCommitRedis(client), retention_s=600)
    waiting = JobStore(client, retention_s=600, replicas=(1, 10))
    for store in (plain, grouped):
        client.script_flush()
        job_id, created = _create(store, hook_id, "")
        assert created is Created.OK
        assert client.hget(keys.job(job_id), "status") == b"queued"
    client.script_flush()
    with pytest.raises(NotReplicated):  # written (no replica here), then refused
        _create(waiting, hook_id, "")
    assert client.llen(keys.pending(hook_id)) == 3
