"""Delivery's retry schedule (``next_attempt``) and how it reads a receiver's
``Retry-After``. The deliveries themselves, against a real receiver, are in
tests/e2e/test_callbacks.py."""

from __future__ import annotations

import email.utils
import time
from dataclasses import replace

import orjson
import pytest
import redis

from tests.support.receiver import Receiver
from workers.delivery.callbacks import Deliverer, _retry_after_s, next_attempt
from workers.delivery.exchange import OutboundResponse
from workers.hook_validation import validate_hook
from workers.settings import Settings
from workers.store import keys
from workers.store.hooks import HookStore
from workers.store.jobs.records import DeliveryStatus, EventRequest, new_job_id
from workers.store.jobs.store import JobStore

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
SCHEDULE = (5, 300, 1800)


@pytest.mark.parametrize("status_code", [200, 201, 204, 299])
def test_2xx_succeeds_at_any_attempt(status_code: int) -> None:
    for attempts_made in (1, len(SCHEDULE) + 1):
        assert next_attempt(status_code, None, attempts_made, SCHEDULE) == (
            DeliveryStatus.SUCCEEDED,
            None,
        )


def test_410_gone_stops_at_once_whatever_retry_after_says() -> None:
    assert next_attempt(410, 60.0, 1, SCHEDULE) == (DeliveryStatus.FAILED, None)


@pytest.mark.parametrize("status_code", [None, 199, 301, 400, 404, 429, 500, 503])
def test_anything_else_is_retried_on_the_schedule_until_it_runs_out(
    status_code: int | None,
) -> None:
    # None: no answer at all (refused, timed out, an internal address).
    for attempts_made, delay_s in enumerate(SCHEDULE, start=1):
        status, delay = next_attempt(status_code, None, attempts_made, SCHEDULE)
        assert status is DeliveryStatus.PENDING
        assert delay is not None and 0.9 * delay_s <= delay <= 1.1 * delay_s
    # The first try and one retry per entry of the schedule: then it is over.
    assert next_attempt(status_code, None, len(SCHEDULE) + 1, SCHEDULE) == (
        DeliveryStatus.FAILED,
        None,
    )


def test_jitter_stays_within_ten_percent_and_varies() -> None:
    delays = [next_attempt(500, None, 2, SCHEDULE)[1] for _ in range(300)]
    assert all(270 <= d <= 330 for d in delays)
    assert len(set(delays)) > 1  # spread, so receivers are not hit in lockstep


def test_retry_after_replaces_the_schedules_delay_while_retries_remain() -> None:
    assert next_attempt(429, 3.0, 1, SCHEDULE) == (DeliveryStatus.PENDING, 3.0)
    assert next_attempt(503, 7200.0, 3, SCHEDULE) == (DeliveryStatus.PENDING, 7200.0)
    # It does not add retries past the schedule.
    assert next_attempt(429, 3.0, len(SCHEDULE) + 1, SCHEDULE) == (DeliveryStatus.FAILED, None)


def answer(retry_after: str | None) -> OutboundResponse:
    headers = [] if retry_after is None else [("Retry-After", retry_after)]
    return OutboundResponse(status=429, headers=headers, body=b"", url="http://127.0.0.1/")


def test_retry_after_in_seconds_or_as_a_date_capped_at_a_day() -> None:
    assert _retry_after_s(answer("120")) == 120.0
    assert _retry_after_s(answer(" 5 ")) == 5.0
    assert _retry_after_s(answer(str(10 * 24 * 3600))) == 24 * 3600
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= _retry_after_s(answer(in_a_minute)) <= 60
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert _retry_after_s(answer(past)) == 0.0
    assert _retry_after_s(answer(None)) is None
    assert _retry_after_s(answer("soon")) is None


def test_a_callback_goes_only_to_the_hook_that_ran_the_job(
    fast_settings: Settings, hook_id: str, receiver: Receiver
) -> None:
    """A hook deleted and created again with the same id (its versions start
    above the old ones) gets none of the old hook's pending callbacks."""
    settings = replace(fast_settings, callback_allowlist=("127.0.0.1",))
    client = redis.Redis.from_url(settings.redis_url)
    hooks, jobs = HookStore(client), JobStore(client, settings.retention_s)
    old, _ = hooks.put(validate_hook(hook_id, {"callbackUrl": receiver.url}, settings))
    job_id = new_job_id()
    jobs.create(job_id, hook_id, old.version, EVENT, 0, ("test:scripts", b"message"))
    hooks.delete(hook_id)
    hooks.put(validate_hook(hook_id, {"callbackUrl": receiver.url}, settings))
    assert Deliverer(settings).deliver(job_id) is not DeliveryStatus.SUCCEEDED
    assert receiver.for_job(job_id) == []
    attempts = orjson.loads(client.hget(keys.job(job_id), "deliveries"))
    assert attempts[0]["error"] == "hook deleted"
