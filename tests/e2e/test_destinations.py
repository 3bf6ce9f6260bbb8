"""Callback destinations on a whole stack of its own (issue 24, item 5): two
callback worker processes, local receivers on loopback (allowed by the
stack's HOOKLET_CALLBACK_ALLOWLIST), a breaker that opens after 3 failures
for 1 s (doubling), retries every second.

- a destination answering 500 then recovering: the breaker opens, probes,
  closes; nothing is lost and no delivery spends attempts while it is open;
- ``callback.ratePerS`` holds across both callback processes, counted in
  windows of the receiver's own timestamps;
- a healthy destination beside an open breaker is still delivered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.receiver import Receiver, Reply
from tests.support.stack import Api, RedisServer, Web, Worker, free_port, hooklet_env, wait_until
from workers.delivery.destinations import destination_of

pytestmark = pytest.mark.stack

FAILURES = 3


class Stack:
    def __init__(self, api: Api, callbacks: list[Worker]) -> None:
        self.api, self.callbacks = api, callbacks


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("destinations")
    server = RedisServer(workdir).start()
    env = hooklet_env(
        server.url,
        breaker_failures=FAILURES,
        breaker_cooldown_s=1,
        breaker_max_cooldown_s=8,
        callback_schedule_s="1,1,1",
    )
    started: list = [server]
    try:
        started.append(Web(env, workdir).start())
        started.append(Worker(env, workdir, name="dest-scripts", concurrency=2).start())
        callbacks = [
            Worker(env, workdir, name=f"dest-cb{n}", queues="callbacks", pool="threads",
                   concurrency=2).start()
            for n in (1, 2)
        ]  # fmt: skip
        started += callbacks
        yield Stack(Api(started[1].url), callbacks)
    finally:
        for process in reversed(started):
            process.stop()


def _hook(api: Api, url: str, **callback: float) -> str:
    hook_id = f"d-{uuid.uuid4().hex[:10]}"
    definition: dict = {"script": "({ body: 'ok' })", "callbackUrl": url}
    if callback:
        definition["callback"] = callback
    api.put_hook(hook_id, **definition)
    return hook_id


def _send(api: Api, hook_id: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        answer = api.send(hook_id, json={"n": i})
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["jobId"])
    return ids


def _destination(api: Api, url: str) -> dict:
    answer = api.http.get(f"{api.base}/api/destinations", headers=api.admin, timeout=10)
    assert answer.status_code == 200, answer.text
    found = [d for d in answer.json()["destinations"] if d["destination"] == destination_of(url)]
    return found[0] if found else {}


def _deliveries(api: Api, ids: list[str]) -> dict[str, dict]:
    return {job_id: api.job(job_id).get("delivery") or {} for job_id in ids}


def test_a_destination_answering_500_then_recovering(stack: Stack, receiver: Receiver) -> None:
    api = stack.api
    receiver.default = Reply(500)
    hook_id = _hook(api, receiver.url)
    ids = _send(api, hook_id, 12)
    # It opens, and a probe fails (the cooldown doubles) while every delivery waits.
    wait_until(lambda: _destination(api, receiver.url).get("timesOpened", 0) >= 2,
               timeout_s=30, what="the breaker to open, probe and open again")  # fmt: skip
    opened = _destination(api, receiver.url)
    assert opened["state"] in ("open", "half-open") and opened["lastError"] == "HTTP 500"
    assert opened["queued"] > 0
    # Without the breaker, 1 s retries would have spent every attempt by now.
    assert not any(d.get("status") == "failed" for d in _deliveries(api, ids).values())

    receiver.default = Reply(200)
    wait_until(lambda: all(d.get("status") == "succeeded"
                           for d in _deliveries(api, ids).values()),
               timeout_s=60, what="every delivery after the recovery")  # fmt: skip
    closed = _destination(api, receiver.url)
    assert (closed["state"], closed["failureStreak"], closed["queued"]) == ("closed", 0, 0)

    deliveries = _deliveries(api, ids)
    sent = {job_id: receiver.for_job(job_id) for job_id in ids}
    for job_id in ids:  # nothing lost; each recorded attempt is a request the receiver got
        attempts = deliveries[job_id]["attempts"]
        assert attempts[-1]["statusCode"] == 200
        assert len(attempts) == len(sent[job_id]), (attempts, sent[job_id])
    failed_sends = sum(len(d["attempts"]) - 1 for d in deliveries.values())
    # The streak, what was in flight when it opened (4 threads), and one probe per opening.
    assert failed_sends <= FAILURES + 4 + closed["timesOpened"], deliveries
    untouched = [j for j in ids if len(deliveries[j]["attempts"]) == 1]
    assert len(untouched) >= len(ids) - FAILURES - 4 - closed["timesOpened"]


def test_rate_per_s_holds_across_two_callback_processes(stack: Stack, receiver: Receiver) -> None:
    api, rate, n = stack.api, 5, 40
    hook_id = _hook(api, receiver.url, ratePerS=rate)
    ids = _send(api, hook_id, n)
    wait_until(lambda: all(d.get("status") == "succeeded"
                           for d in _deliveries(api, ids).values()),
               timeout_s=60, what="every rate-limited delivery")  # fmt: skip
    times = sorted(r.at for r in receiver.received)
    assert len(times) == n
    # A burst of one second's calls, then `rate` a second: any 2 s window
    # holds at most burst + 2 s of calls, plus a little for late promotion.
    window = 2.0
    busiest = max(sum(1 for t in times if start <= t < start + window) for start in times)
    assert busiest <= rate + rate * (window + 0.5), busiest
    assert times[-1] - times[0] >= (n - rate) / rate * 0.8
    # Both callback processes took part.
    for worker in stack.callbacks:
        assert "callback attempt" in worker.log() or '"callback_attempt"' in worker.log()


def test_a_healthy_destination_beside_an_open_breaker(stack: Stack, receiver: Receiver) -> None:
    api = stack.api
    dead_url = f"http://127.0.0.1:{free_port()}/cb"  # nothing listens: connection refused
    dead = _hook(api, dead_url)
    dead_ids = _send(api, dead, 30)
    wait_until(lambda: _destination(api, dead_url).get("parked", 0) > 0,
               timeout_s=30, what="the dead destination's breaker to park deliveries")  # fmt: skip
    healthy = _hook(api, receiver.url)
    ids = _send(api, healthy, 10)
    wait_until(lambda: all(d.get("status") == "succeeded"
                           for d in _deliveries(api, ids).values()),
               timeout_s=30, what="the healthy destination's deliveries")  # fmt: skip
    assert all(len(receiver.for_job(j)) == 1 for j in ids)
    still = _destination(api, dead_url)
    assert still["state"] != "closed" and still["queued"] > 0, still
    assert not any(d.get("status") == "succeeded" for d in _deliveries(api, dead_ids).values())
