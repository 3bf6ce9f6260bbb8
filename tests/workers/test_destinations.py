"""Callback destinations (issue 24, item 5) against a real Redis and a real
local receiver: the circuit breaker opens after the failure streak, parks
deliveries without spending attempts, probes once half-open, doubles its
cooldown after a failed probe and, closed again, lets every parked delivery
go; ``callback.ratePerS`` hands out slots. Whole-stack runs (two callback
worker processes): tests/e2e/test_destinations.py."""

from __future__ import annotations

import time
from dataclasses import replace

import orjson
import pytest
import redis

from tests.support.receiver import Receiver, Reply
from tests.support.stack import wait_until
from workers.delivery.callbacks import Deliverer
from workers.delivery.destinations import destination_of, signal_of
from workers.errors import InvalidHook
from workers.hook_validation import parse_hook, validate_hook
from workers.queue.due_callbacks import CallbackPromoter
from workers.settings import Settings
from workers.store import keys
from workers.store.destinations.reads import list_destinations
from workers.store.destinations.store import Signal, Verdict
from workers.store.hooks import HookStore
from workers.store.jobs.records import DeliveryStatus, EventRequest, new_job_id
from workers.store.jobs.store import JobStore

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")


@pytest.fixture
def settings(fast_settings: Settings) -> Settings:
    return replace(
        fast_settings,
        callback_allowlist=("127.0.0.1",),
        breaker_failures=3,
        breaker_cooldown_s=1.0,
        breaker_max_cooldown_s=8.0,
        callback_schedule_s=(1, 1, 1, 1, 1),
    )


def _jobs(settings: Settings, hook_id: str, definition: dict, n: int) -> list[str]:
    client = redis.Redis.from_url(settings.redis_url)
    hook, _ = HookStore(client).put(validate_hook(hook_id, definition, settings))
    jobs = JobStore(client, settings.retention_s)
    ids = [new_job_id() for _ in range(n)]
    for job_id in ids:
        jobs.create(job_id, hook_id, hook.version, EVENT, 0, ("test:scripts", b"message"))
    return ids


def _attempts(client: redis.Redis, job_id: str) -> list[dict]:
    raw = client.hget(keys.job(job_id), "deliveries")
    return orjson.loads(raw) if raw else []


def _state(client: redis.Redis, dest: str) -> dict:
    [found] = [d.to_json() for d in list_destinations(client) if d.destination == dest]
    return found


def test_destinations_are_scheme_host_and_port() -> None:
    assert destination_of("https://Example.COM/a?b") == "https://example.com:443"
    assert destination_of("http://example.com:8080/x") == "http://example.com:8080"
    assert destination_of("http://[::1]/cb") == "http://[::1]:80"
    assert signal_of(500, "HTTP 500") is Signal.FAILURE
    assert signal_of(429, "HTTP 429") is Signal.FAILURE
    assert signal_of(404, "HTTP 404") is Signal.HEALTHY  # it answered
    assert signal_of(None, "timeout") is Signal.FAILURE
    assert signal_of(None, "refused by egress guard") is Signal.NONE


def test_the_breaker_opens_parks_probes_and_closes_losing_nothing(
    settings: Settings, hook_id: str, receiver: Receiver
) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    receiver.default = Reply(500)
    ids = _jobs(settings, hook_id, {"callbackUrl": receiver.url}, 6)
    dest = destination_of(receiver.url)
    deliverer = Deliverer(settings)
    promoter = CallbackPromoter(settings, client)

    for job_id in ids[:3]:  # the streak reaches HOOKLET_BREAKER_FAILURES (3 here)
        assert deliverer.deliver(job_id) is DeliveryStatus.PENDING
    state = _state(client, dest)
    assert (state["state"], state["failureStreak"], state["timesOpened"]) == ("open", 3, 1)
    assert state["lastError"] == "HTTP 500"

    # While open: parked, nothing sent, no attempt spent; a retry due meanwhile too.
    for job_id in [*ids[3:], ids[0]]:
        assert deliverer.deliver(job_id) is DeliveryStatus.PENDING
    assert len(receiver.received) == 3
    assert [len(_attempts(client, j)) for j in ids] == [1, 1, 1, 0, 0, 0]
    state = _state(client, dest)
    assert (state["parked"], state["queued"]) == (4, 6)

    # Half-open: one probe, the oldest parked delivery; it fails, so the
    # breaker opens again for twice the cooldown.
    probe = wait_until(lambda: promoter.destinations.wake(dest, time.time()),
                       timeout_s=10, what="the breaker to half-open")  # fmt: skip
    assert probe == ids[3]
    assert deliverer.deliver(probe) is DeliveryStatus.PENDING
    assert deliverer.deliver(ids[4]) is DeliveryStatus.PENDING  # not the probe: parked
    assert len(receiver.received) == 4
    state = _state(client, dest)
    assert (state["state"], state["cooldownS"], state["timesOpened"]) == ("open", 2.0, 2)

    # The next probe succeeds: closed, and every parked delivery is due now.
    receiver.default = Reply(200)
    probe = wait_until(lambda: promoter.destinations.wake(dest, time.time()),
                       timeout_s=10, what="the breaker to half-open again")  # fmt: skip
    assert deliverer.deliver(probe) is DeliveryStatus.SUCCEEDED
    state = _state(client, dest)
    assert (state["state"], state["failureStreak"], state["parked"]) == ("closed", 0, 0)
    due = set(promoter.deliveries.claim_due(client.time()[0] + 1, 100))
    assert set(ids) - {probe} <= due | {ids[1], ids[2]}
    for job_id in set(ids) - {probe}:
        assert deliverer.deliver(job_id) is DeliveryStatus.SUCCEEDED
    # Nothing lost, each delivered once, and only real sends spent attempts.
    for job_id in ids:
        attempts = _attempts(client, job_id)
        assert attempts[-1]["statusCode"] == 200, attempts
        assert all(a["statusCode"] == 500 for a in attempts[:-1])
    assert [len(_attempts(client, j)) for j in ids] == [2, 2, 2, 2, 1, 1]
    assert _state(client, dest)["queued"] == 0


def test_rate_slots_are_reserved_not_slept_on(
    settings: Settings, hook_id: str, receiver: Receiver
) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    definition = {"callbackUrl": receiver.url, "callback": {"ratePerS": 2}}
    ids = _jobs(settings, hook_id, definition, 6)
    gate = Deliverer(settings).gate
    verdicts = [gate.admit(receiver.url, j, hook_id, 2.0) for j in ids]
    # A burst of one second's calls (2), then one slot every 0.5 s.
    assert [v.verdict for v in verdicts] == [Verdict.SEND] * 2 + [Verdict.WAIT] * 4
    slots = [v.due_at for v in verdicts[2:]]
    gaps = [round(b - a, 2) for a, b in zip(slots, slots[1:], strict=False)]
    assert gaps == [0.5, 0.5, 0.5]
    # A waiting delivery that comes back early keeps its slot: no new reservation.
    again = gate.admit(receiver.url, ids[5], hook_id, 2.0)
    assert (again.verdict, again.due_at) == (Verdict.WAIT, slots[-1])
    assert client.zscore(keys.callbacks_due(), ids[5]) == pytest.approx(slots[-1], abs=0.01)
    # The deliverer sends nothing for a delivery over the rate, and spends no attempt.
    extra = _jobs(settings, hook_id, definition, 1)[0]
    assert Deliverer(settings).deliver(extra) is DeliveryStatus.PENDING
    assert receiver.received == [] and _attempts(client, extra) == []


@pytest.mark.parametrize(
    ("callback", "error"),
    [
        ({"ratePerS": 0}, "callback.ratePerS"),
        ({"ratePerS": True}, "callback.ratePerS"),
        ({"ratePerS": 10_001}, "callback.ratePerS"),
        ({"rate": 1}, "callback"),
        ([1], "callback"),
    ],
)
def test_callback_rate_is_checked(settings: Settings, callback: object, error: str) -> None:
    with pytest.raises(InvalidHook) as raised:
        parse_hook("h", {"callbackUrl": "http://127.0.0.1/cb", "callback": callback}, settings)
    assert raised.value.field == error


def test_callback_rate_is_kept_and_shown(settings: Settings) -> None:
    hook = parse_hook("h", {"callback": {"ratePerS": 2.5}}, settings)
    assert hook.callback_rate_per_s == 2.5 and hook.to_json()["callback"] == {"ratePerS": 2.5}
    assert parse_hook("h", {}, settings).to_json()["callback"] == {"ratePerS": None}


def test_a_stale_copy_of_an_ended_delivery_is_not_sent_again(
    settings: Settings, hook_id: str, receiver: Receiver
) -> None:
    """A parked delivery released after it ended some other way (a duplicate
    message, a callbackUrl changed meanwhile) sends nothing."""
    [job_id] = _jobs(settings, hook_id, {"callbackUrl": receiver.url}, 1)
    deliverer = Deliverer(settings)
    assert deliverer.deliver(job_id) is DeliveryStatus.SUCCEEDED
    assert deliverer.deliver(job_id) is DeliveryStatus.SUCCEEDED
    assert len(receiver.received) == 1
