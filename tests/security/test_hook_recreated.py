"""Issue 20 item 7: deleting a hook deletes every job of it (not only its
history window) and every index entry, and no job of a deleted hook runs
again under a hook created since with the same id: a replay or a redelivery
answers ``409 hook_version_gone``. Fast layer: Flask's test client and the
executor, on the fast layer's real Redis."""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask.testing import FlaskClient

from tests.security.conftest import ADMIN
from tests.support.fast import assert_error
from workers.store import keys

OLD = "({ body: 'old:' + (context.headers.authorization || '') })"
NEW = "({ body: 'new:' + context.secrets.KEY + ':' + (context.headers.authorization || '') })"


def _send(client: FlaskClient, hook_id: str) -> str:
    answer = client.post(f"/h/{hook_id}", data=b"old body", headers={"Authorization": "Bearer s"})
    assert answer.status_code == 202, answer.text
    return answer.json["jobId"]


def _listed(client: FlaskClient, **query: str) -> set[str]:
    answer = client.get("/api/jobs", query_string={"limit": "500", **query}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return {job["jobId"] for job in answer.json["jobs"]}


def test_delete_removes_every_job_and_index_entry_and_old_jobs_never_replay(
    client: FlaskClient, store: redis.Redis, run_job: Callable[[str], dict], hook_id: str
) -> None:
    url = f"/api/hooks/{hook_id}"
    definition = {"script": OLD, "requestsToTrack": 1, "callbackUrl": "http://127.0.0.1:9/cb"}
    assert client.put(url, json=definition, headers=ADMIN).status_code == 201
    finished = [_send(client, hook_id) for _ in range(3)]  # two fall out of the history
    for job_id in finished:
        assert run_job(job_id)["status"] == "succeeded"
    waiting = _send(client, hook_id)  # still queued when the hook goes
    assert _listed(client, hook=hook_id) == {*finished, waiting}

    assert client.delete(url, headers=ADMIN).status_code == 204
    for job_id in finished:
        assert client.get(f"/jobs/{job_id}").status_code == 404
        assert client.post(f"/api/jobs/{job_id}/replay", headers=ADMIN).status_code == 404
    hook_keys = [
        keys.hook_jobs(hook_id),
        keys.hook_jobs_index(hook_id),
        keys.hook_failed_index(hook_id),
        keys.hook_dead_letters_index(hook_id),
    ]
    assert store.exists(*hook_keys) == 0
    every = [keys.jobs_index(), keys.index_expiry(), keys.finished(), keys.callbacks_due()]
    assert not [(i, j) for i in every for j in [*finished, waiting] if store.zscore(i, j)]
    assert not {*finished, waiting} & _listed(client)

    # A new owner takes the id, with secrets of its own.
    recreated = {"script": NEW, "secrets": {"KEY": "new-secret"}}
    assert client.put(url, json=recreated, headers=ADMIN).status_code == 201
    assert _listed(client, hook=hook_id) == set()
    # The queued job keeps its sender's 202 (it ends as hook_gone) but never
    # runs under the new hook, alone or in bulk.
    replay = client.post(f"/api/jobs/{waiting}/replay", headers=ADMIN)
    assert_error(replay, 409, "hook_version_gone")
    bulk = client.post("/api/jobs/replay", json={"ids": [waiting]}, headers=ADMIN)
    assert bulk.status_code == 200 and bulk.json["replayed"] == []
    assert bulk.json["failed"][0]["error"]["code"] == "hook_version_gone"
    by_hook = client.post("/api/jobs/replay", json={"filter": {"hook": hook_id}}, headers=ADMIN)
    assert by_hook.status_code == 200 and by_hook.json["replayed"] == []
    redeliver = client.post(f"/api/jobs/{waiting}/redeliver", headers=ADMIN)
    assert redeliver.status_code in (400, 409)  # not finished; and its hook is gone
    ended = run_job(waiting)
    assert (ended["status"], ended["reason"]) == ("failed", "hook_gone")
    assert_error(
        client.post(f"/api/jobs/{waiting}/redeliver", headers=ADMIN), 409, "hook_version_gone"
    )
    # Ended, it is still the old hook's: listed nowhere, not even as failed.
    assert waiting not in _listed(client, hook=hook_id, status="failed")
    assert waiting not in _listed(client, status="failed")
    assert store.zscore(keys.hook_jobs(hook_id), waiting) is None
    assert 0 < store.ttl(keys.job(waiting))  # and it expires with its retention
