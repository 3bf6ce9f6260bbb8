"""Sentinel and durable acknowledgements, against a real primary, replica
and three Sentinels (Flask's test client, no workers)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.support.sentinel import MASTER, SentinelCluster
from tests.support.stack import ADMIN_TOKEN, hooklet_env, wait_until
from workers.queue.celery_app import make_celery
from workers.settings import load_settings
from workers.store import keys
from workers.store.connection import parse_sentinel_url, wait_replicas

# Starts a primary, a replica and three Sentinels and waits out a failover:
# slow for the fast layer, so it runs with the stack tests.
pytestmark = pytest.mark.stack

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_the_celery_sentinel_url_form_is_read() -> None:
    url = "sentinel://:secret@10.0.0.1:26379/2;sentinel://10.0.0.2;sentinel://10.0.0.3:26380"
    parsed = parse_sentinel_url(url)
    assert parsed.nodes == [("10.0.0.1", 26379), ("10.0.0.2", 26379), ("10.0.0.3", 26380)]
    assert (parsed.db, parsed.password) == (2, "secret")
    with pytest.raises(ValueError):
        parse_sentinel_url("redis://127.0.0.1:6379/0;sentinel://127.0.0.1")
    settings = load_settings({}, redis_url=url, redis_sentinel_master="hq")
    assert wait_replicas(settings) == 1  # Sentinel: replicas confirm every event
    assert wait_replicas(load_settings({})) == 0
    options = make_celery(settings).conf.broker_transport_options
    assert options["master_name"] == "hq"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    started = SentinelCluster(tmp_path_factory.mktemp("sentinel")).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def client(cluster: SentinelCluster) -> FlaskClient:
    env = hooklet_env(cluster.url, redis_sentinel_master=MASTER, redis_wait_timeout_ms=1000)
    client = create_app(load_settings(env)).test_client()
    answer = client.put("/api/hooks/ha", json={"script": "null"}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return client


def test_an_event_is_answered_once_the_replica_has_it(
    cluster: SentinelCluster, client: FlaskClient
) -> None:
    answer = client.post("/h/ha", data=b"{}")
    assert answer.status_code == 202
    job_key = keys.job(answer.get_json()["jobId"])
    assert cluster.replica.client().hget(job_key, "status") == b"queued"


def test_without_a_replica_the_event_is_refused_and_a_failover_is_followed(
    cluster: SentinelCluster, client: FlaskClient
) -> None:
    replica = cluster.replica
    replica.stop(signal.SIGKILL)
    answer = client.post("/h/ha", data=b"{}")
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert answer.get_json()["error"]["code"] == "not_replicated"
    cluster.rejoin(replica)
    # Back: confirmed again (a loaded machine may still time one out).
    wait_until(lambda: client.post("/h/ha", data=b"{}").status_code == 202, what="a 202")
    # The primary dies: the web side follows Sentinel to the promoted replica.
    old = cluster.master_port()
    victim = cluster.kill_primary()
    statuses = set()

    def promoted_and_accepting() -> bool:
        status = client.post("/h/ha", data=b"{}").status_code
        statuses.add(status)
        return status == 202

    cluster.wait_failover(old)
    cluster.rejoin(victim)  # a replica again, so WAIT can be met
    wait_until(promoted_and_accepting, timeout_s=60, what="events accepted after the failover")
    assert statuses <= {202, 503}  # never a 500
