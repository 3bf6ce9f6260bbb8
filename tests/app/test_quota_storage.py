"""A project's ``storedBytes`` (issue 23 item 5), estimated by the reaper's
``ProjectStorage``: past it, that project's oldest finished jobs are trimmed
first (another project's stay); when nothing of it is left to trim and it
is still over, that project alone gets ``503 store_full``, counted in
/metrics. Before, the quota was stored and never applied."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import redis
from flask.testing import FlaskClient

from tests.app.test_metrics import scrape, value
from tests.support.fast import assert_error, put_hook, send
from workers.settings import Settings
from workers.store import keys
from workers.store.access.storage import ProjectStorage
from workers.store.jobs.records import DeliveryStatus

SCRIPT = "(async () => ({ statusCode: 200, body: 'x'.repeat(2000) }))()"


def _project(client: FlaskClient, admin: dict[str, str], quotas: dict[str, int]) -> str:
    project = f"s-{uuid.uuid4().hex[:8]}"
    body = {"id": project, "name": project, "quotas": quotas}
    assert client.post("/api/projects", json=body, headers=admin).status_code == 201
    return project


def _events(client: FlaskClient, run_job: Callable[[str], dict], hook: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        job_id = send(client, hook).json["jobId"]
        assert run_job(job_id)["status"] == "succeeded"
        ids.append(job_id)
    return ids


def test_stored_bytes_trims_the_projects_oldest_then_refuses_it_alone(
    client: FlaskClient,
    admin: dict[str, str],
    run_job: Callable[[str], dict],
    fast_settings: Settings,
) -> None:
    rdb = redis.Redis.from_url(fast_settings.redis_url)
    storage = ProjectStorage(rdb, full_ttl_s=60)
    full, calm = _project(client, admin, {"storedBytes": 10**9}), _project(client, admin, {})
    put_hook(client, admin, f"{full}-a", script=SCRIPT, mode="async", project=full)
    put_hook(client, admin, f"{calm}-a", script=SCRIPT, mode="async", project=calm)
    ours = _events(client, run_job, f"{full}-a", 10)
    theirs = _events(client, run_job, f"{calm}-a", 10)
    assert storage.enforce(full, 10**9) > 0  # under its quota: nothing trimmed
    usage = storage.usage(f"{full}-a")
    assert usage.finished == 10 and usage.mean_bytes > 0

    # Room for about four: the six oldest go, the newest stay.
    left = storage.enforce(full, int(usage.mean_bytes * 4.5))
    assert left <= usage.mean_bytes * 4.5
    exists = [client.get(f"/jobs/{j}").status_code == 200 for j in ours]
    assert exists == [False] * 6 + [True] * 4
    assert all(client.get(f"/jobs/{j}").status_code == 200 for j in theirs)
    assert rdb.exists(keys.project_store_full(full)) == 0
    assert send(client, f"{full}-a").status_code == 202

    # What cannot be trimmed (a callback still due) keeps it over: refused alone.
    for job_id in ours[6:]:
        rdb.hset(keys.job(job_id), "deliveryStatus", DeliveryStatus.PENDING.value)
    assert storage.enforce(full, 1) > 1
    assert rdb.exists(keys.project_store_full(full)) == 1
    assert_error(send(client, f"{full}-a"), 503, "store_full")
    assert send(client, f"{calm}-a").status_code == 202
    samples = scrape(client)
    assert value(samples, "hooklet_quota_refusals_total", project=full, quota="storedBytes") == 1

    storage.enforce(full, 10**9)  # room again: the flag goes at once
    assert send(client, f"{full}-a").status_code == 202
