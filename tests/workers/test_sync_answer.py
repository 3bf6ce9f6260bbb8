"""A sync job's answer travels with the publish of its end (issue 21 item 5):
FINISH publishes the fields a sync response reads and gives the caller's slot
back, so the web's waiter answers without reading the job; against a real
redis-server."""

from __future__ import annotations

import os
import time

from tests.support.stack import RedisServer
from workers.queue.names import RUN_SCRIPT
from workers.store import keys
from workers.store.jobs import answer
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id, result_body
from workers.store.jobs.store import JobStore, TakeFrom
from workers.store.lanes.lane import Lane

BODY = b"x" * 4096  # big enough to be stored once when echoed


def _begun(store: JobStore, hook_id: str, lane: Lane, body: bytes = b"{}") -> dict:
    job_id = new_job_id()
    event = EventRequest("POST", "/", "", {}, {}, "", body)
    store.create(job_id, hook_id, 1, event, 0, ("test:queue", b"message"), lane=lane)
    take = TakeFrom("test:sync", "test:queue", RUN_SCRIPT, "worker", 1000, time.time() + 60)
    claimed = store.claim(job_id, take)
    assert claimed is not None and claimed.job_id == job_id and claimed.raw
    return {"job_id": job_id, "raw": claimed.raw}


def _listen(client, channel: str) -> object:
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    pubsub.get_message(timeout=1)
    return pubsub


def _next(pubsub) -> bytes | None:
    message = pubsub.get_message(timeout=2)
    return None if message is None else message["data"]


def test_an_answer_round_trips_binary_fields_and_too_big_is_none() -> None:
    fields = {b"status": b"succeeded", b"resultBodyZ": bytes(range(256)) + b"\n1:x"}
    job_id, decoded = answer.decode(answer.encode("j1", fields))
    assert (job_id, decoded) == ("j1", fields)
    assert answer.encode("j1", {b"resultBody": b"x" * answer.MAX_ANSWER_BYTES}) is None


def test_finish_of_a_sync_job_publishes_its_answer_and_frees_its_slot(
    own_redis: RedisServer, hook_id: str
) -> None:
    client = own_redis.client()
    store = JobStore(client, retention_s=600)
    job = _begun(store, hook_id, Lane.sync(hook_id), BODY)
    client.zadd(keys.in_flight(hook_id), {job["job_id"]: time.time() + 60})
    answers = _listen(client, keys.sync_answer_channel())
    result = {"statusCode": 201, "headers": {"a": "b"}, "body": BODY}  # an echo
    outcome = Outcome(JobStatus.SUCCEEDED, 2.5, [], result=result)
    assert store.finish(job["job_id"], outcome, answer_from=job["raw"], request_body=BODY)[0]
    job_id, fields = answer.decode(_next(answers))
    assert job_id == job["job_id"]
    assert fields[b"status"] == b"succeeded" and fields[b"durationMs"] == b"2.5"
    assert result_body(fields) == BODY  # the request's body travels for an echo
    assert client.zscore(keys.in_flight(hook_id), job["job_id"]) is None
    stored = client.hgetall(keys.job(job["job_id"]))
    assert {name: stored[name] for name in fields if name in stored} == {
        name: value for name, value in fields.items() if name in stored
    }


def test_an_async_job_publishes_nothing_and_a_big_answer_only_its_id(
    own_redis: RedisServer, hook_id: str
) -> None:
    client = own_redis.client()
    store = JobStore(client, retention_s=600)
    answers = _listen(client, keys.sync_answer_channel())
    done = _listen(client, keys.sync_done_channel())
    quiet = _begun(store, hook_id, Lane(hook_id))
    ok = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
    assert store.finish(quiet["job_id"], ok)[0]
    big = _begun(store, hook_id, Lane.sync(hook_id))
    huge = Outcome(
        JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200, "body": os.urandom(70_000)}
    )
    assert store.finish(big["job_id"], huge, answer_from=big["raw"])[0]
    assert _next(done) == big["job_id"].encode()
    assert _next(answers) is None
