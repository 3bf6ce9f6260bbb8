"""Backpressure per hook (``limits.maxQueued``): past the cap the intake
answers 429 with Retry-After and stores nothing. Flask's test client and a
real redis-server; no worker runs, so every accepted event stays queued."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from tests.support.stack import ADMIN_TOKEN, RedisServer
from workers.settings import load_settings
from workers.store import keys

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of its own: no worker of the session's takes these jobs."""
    server = RedisServer(tmp_path_factory.mktemp("backpressure")).start()
    yield server
    server.stop()


@pytest.fixture
def client(own_redis: RedisServer) -> Iterator[FlaskClient]:
    settings = load_settings({}, redis_url=own_redis.url, admin_token=ADMIN_TOKEN)
    app = create_app(settings)
    yield app.test_client()
    if "hooklet.syntax" in app.extensions:
        app.extensions["hooklet.syntax"].close()


def put(client: FlaskClient, hook_id: str, **definition) -> None:
    response = client.put(f"/api/hooks/{hook_id}", json=definition, headers=ADMIN)
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def sample(client: FlaskClient, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def test_a_hook_at_max_queued_gets_429_and_nothing_is_stored(
    client: FlaskClient, own_redis: RedisServer, hook_id: str
) -> None:
    put(client, hook_id, script="null", limits={"maxQueued": 3})
    put(client, hook_id + "-b", script="null", limits={"maxQueued": 3})
    for _ in range(3):
        assert client.post(f"/h/{hook_id}", data=b"{}").status_code == 202
    refused = client.post(f"/h/{hook_id}", data=b"{}")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"].isdigit()
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    # Nothing stored: the history and the queue hold the three accepted ones.
    jobs = client.get(f"/api/hooks/{hook_id}/jobs", headers=ADMIN).get_json()["jobs"]
    assert len(jobs) == 3
    assert own_redis.client().llen(keys.pending(hook_id)) == 3
    # Another hook is not held back by this one's cap.
    assert client.post(f"/h/{hook_id}-b", data=b"{}").status_code == 202
    too_many = sample(
        client, "hooklet_events_received_total", hook=hook_id, outcome="too_many_requests"
    )
    assert too_many == 1
    assert sample(client, "hooklet_hook_queued_events", hook=hook_id) == 3
    assert sample(client, "hooklet_hook_queued_events", hook=hook_id + "-b") == 1


def test_the_cap_defaults_to_the_operator_setting_and_is_validated(
    client: FlaskClient, hook_id: str
) -> None:
    put(client, hook_id, script="null")
    got = client.get(f"/api/hooks/{hook_id}", headers=ADMIN).get_json()
    assert got["limits"]["maxQueued"] == 10_000
    for bad in (0, -1, "10", 10_000_001):
        response = client.put(
            f"/api/hooks/{hook_id}",
            json={"script": "null", "limits": {"maxQueued": bad}},
            headers=ADMIN,
        )
        assert response.status_code == 422
        assert "limits.maxQueued" in response.get_json()["error"]["message"]
