"""``GET /api/destinations`` and ``hooklet_destination_state`` on /metrics,
over a breaker opened in the real Redis (issue 24, item 5)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import redis
from flask.testing import FlaskClient

from workers.delivery.destinations import breaker_policy
from workers.settings import Settings
from workers.store import keys
from workers.store.destinations.store import DestinationStore, Signal
from workers.store.jobs.records import DeliveryStatus


def test_destinations_list_their_breaker_and_metrics_show_it(
    client: FlaskClient, admin: dict[str, str], fast_settings: Settings
) -> None:
    settings = replace(fast_settings, breaker_failures=2)
    store = DestinationStore(
        redis.Redis.from_url(settings.redis_url), settings.retention_s, breaker_policy(settings)
    )
    dest = f"http://dead-{uuid.uuid4().hex[:8]}.example:8080"
    for n in range(2):
        store.admit(dest, f"job-{n}", "h", None)  # no such job: counted as gone, not queued
        store.report(dest, f"job-{n}", Signal.FAILURE, "connection failed", DeliveryStatus.PENDING)
    store._redis.zadd(keys.destinations(), {dest: 1.0})  # listed (admit saw no job)

    assert client.get("/api/destinations").status_code == 401
    answer = client.get("/api/destinations", headers=admin)
    assert answer.status_code == 200, answer.text
    [found] = [d for d in answer.json["destinations"] if d["destination"] == dest]
    assert (found["state"], found["failureStreak"], found["lastError"]) == (
        "open",
        2,
        "connection failed",
    )
    assert found["cooldownS"] == settings.breaker_cooldown_s and found["queued"] == 0

    text = client.get("/metrics").text
    assert f'hooklet_destination_state{{destination="{dest}",state="open"}} 1.0' in text
    assert f'hooklet_destination_state{{destination="{dest}",state="closed"}} 0.0' in text
