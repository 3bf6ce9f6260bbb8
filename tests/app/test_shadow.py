"""Shadow runs' setting and results (issue 25 item 4), through Flask's test
client on real Redis, with the executor and the shadow runner in this
process (V8 included): ``shadow.sample`` is validated (422 out of range),
accepted without a draft; a sampled live run is offered to the shadow lane
and the shadow run is counted for the draft there is now; the results keep
the last 50 differences, start again when the draft changes, and a full
lane counts what it could not take as skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from flask.testing import FlaskClient

from tests.support.fast import assert_error, put_hook, send
from workers.queue.names import SHADOW_QUEUE
from workers.settings import Settings
from workers.shadow.runner import ShadowRunner
from workers.store import keys
from workers.store.shadow.results import RECENT_MAX, ShadowResults

Admin = dict[str, str]
ZERO = {"same": 0, "differs": 0, "diverged": 0, "failed": 0, "nondeterministic": 0, "skipped": 0}
LIVE = "(async () => ({ body: { id: crypto.randomUUID(), n: 1 } }))()"


@pytest.fixture
def shadow_lane(fast_settings: Settings) -> Iterator[redis.Redis]:
    """The shadow queue, empty before and after the test."""
    client = redis.Redis.from_url(fast_settings.redis_url)
    client.delete(keys.celery_queue(SHADOW_QUEUE))
    yield client
    client.delete(keys.celery_queue(SHADOW_QUEUE))


def _patch(client: FlaskClient, admin: Admin, hook_id: str, body: object):
    return client.patch(f"/api/hooks/{hook_id}", json=body, headers=admin)


def _shadow(client: FlaskClient, admin: Admin, hook_id: str) -> dict:
    response = client.get(f"/api/hooks/{hook_id}/draft/shadow", headers=admin)
    assert response.status_code == 200, response.text
    return response.json


@pytest.mark.parametrize(
    ("shadow", "field"),
    [
        ({"sample": 1.5}, "shadow.sample"),
        ({"sample": -0.1}, "shadow.sample"),
        ({"sample": "0.5"}, "shadow.sample"),
        ({"sample": True}, "shadow.sample"),
        ({"sample": 0.5, "rate": 1}, "shadow"),
        ({}, "shadow"),
        (0.5, "shadow"),
    ],
)
def test_a_sample_outside_0_to_1_is_refused(
    client: FlaskClient, admin: Admin, hook_id: str, shadow: object, field: str
) -> None:
    put_hook(client, admin, hook_id, script=LIVE)
    error = assert_error(_patch(client, admin, hook_id, {"shadow": shadow}), 422, "invalid_hook")
    assert field in error["message"]
    put = client.put(
        f"/api/hooks/{hook_id}", json={"script": LIVE, "shadow": shadow}, headers=admin
    )
    assert field in assert_error(put, 422, "invalid_hook")["message"]
    assert client.get(f"/api/hooks/{hook_id}", headers=admin).json["shadow"] is None


def test_shadow_is_accepted_without_a_draft_and_does_nothing_until_one_exists(
    client: FlaskClient, admin: Admin, hook_id: str, run_job: Callable[[str], dict],
    shadow_lane: redis.Redis,
) -> None:  # fmt: skip
    put_hook(client, admin, hook_id, script=LIVE)
    patched = _patch(client, admin, hook_id, {"shadow": {"sample": 1}})
    assert patched.status_code == 200 and patched.json["shadow"] == {"sample": 1.0}
    assert _shadow(client, admin, hook_id) == {
        "sample": 1.0, "draftVersion": None, "counts": ZERO, "recent": []
    }  # fmt: skip
    run_job(send(client, hook_id).json["jobId"])
    assert shadow_lane.llen(keys.celery_queue(SHADOW_QUEUE)) == 0  # no draft: nothing offered
    assert _patch(client, admin, hook_id, {"shadow": None}).json["shadow"] is None
    put = put_hook(client, admin, hook_id, script=LIVE, shadow={"sample": 0.5})
    assert put["shadow"] == {"sample": 0.5}


def test_a_sampled_live_run_is_shadowed_by_the_draft(
    client: FlaskClient, admin: Admin, hook_id: str, run_job: Callable[[str], dict],
    fast_settings: Settings, shadow_lane: redis.Redis,
) -> None:  # fmt: skip
    put_hook(client, admin, hook_id, script=LIVE)
    draft = client.put(f"/api/hooks/{hook_id}/draft", headers=admin,
                       json={"script": LIVE.replace("n: 1", "n: 2")})  # fmt: skip
    assert draft.status_code == 201, draft.text
    _patch(client, admin, hook_id, {"shadow": {"sample": 1.0}})
    job = run_job(send(client, hook_id).json["jobId"])
    assert shadow_lane.llen(keys.celery_queue(SHADOW_QUEUE)) == 1

    runner = ShadowRunner(fast_settings)
    try:
        assert runner.run(job["jobId"], hook_id) == "differs"
        # The same script as the draft: the id comes back from the tape.
        client.put(f"/api/hooks/{hook_id}/draft", json={"script": LIVE}, headers=admin)
        assert _shadow(client, admin, hook_id)["counts"] == ZERO  # a new draft, new counts
        assert runner.run(job["jobId"], hook_id) == "same"
    finally:
        runner.pool.clear()
    found = _shadow(client, admin, hook_id)
    assert (
        found["draftVersion"]
        == client.get(f"/api/hooks/{hook_id}/draft", headers=admin).json["etag"]
    )
    assert found["counts"] == {**ZERO, "same": 1} and found["recent"] == []


def test_a_job_its_own_version_does_not_reproduce_is_nondeterministic(
    client: FlaskClient, admin: Admin, hook_id: str, run_job: Callable[[str], dict],
    fast_settings: Settings, shadow_lane: redis.Redis,
) -> None:  # fmt: skip
    put_hook(client, admin, hook_id, script=LIVE)
    client.put(f"/api/hooks/{hook_id}/draft", json={"script": "({ body: 'x' })"}, headers=admin)
    _patch(client, admin, hook_id, {"shadow": {"sample": 1.0}})
    job = run_job(send(client, hook_id).json["jobId"])
    # A stored answer no run on the tape gives back (as if the tape missed
    # something the script read).
    shadow_lane.hset(keys.job(job["jobId"]), "resultBody", b'{"id": "elsewhere", "n": 1}')
    runner = ShadowRunner(fast_settings)
    try:
        assert runner.run(job["jobId"], hook_id) == "nondeterministic"
    finally:
        runner.pool.clear()
    (entry,) = _shadow(client, admin, hook_id)["recent"]
    assert entry["outcome"] == "nondeterministic"
    assert entry["diff"]["draft"]["result"] == "differs"
    assert entry["diff"]["ownVersion"]["diff"]["body"]["changes"][0]["path"] == "$.id"


def test_results_keep_the_last_50_differences_for_the_draft_there_is_now(
    client: FlaskClient, admin: Admin, hook_id: str, fast_settings: Settings
) -> None:
    put_hook(client, admin, hook_id, script=LIVE)
    client.put(f"/api/hooks/{hook_id}/draft", json={"script": "1"}, headers=admin)
    etag = client.get(f"/api/hooks/{hook_id}/draft", headers=admin).json["etag"]
    results = ShadowResults(redis.Redis.from_url(fast_settings.redis_url), fast_settings)
    for i in range(RECENT_MAX + 5):
        assert results.record(hook_id, etag, "differs", {"jobId": f"j{i}", "diff": {"n": i}})
    assert not results.record(hook_id, "an-older-draft", "same", None)  # not counted
    huge = {"jobId": "big", "diff": {"body": {"stored": "x" * 40_000, "draft": "y"}}}
    results.record(hook_id, etag, "differs", huge)
    found = _shadow(client, admin, hook_id)
    assert found["counts"]["differs"] == RECENT_MAX + 6 and found["counts"]["same"] == 0
    recent = found["recent"]
    assert len(recent) == RECENT_MAX and recent[0]["jobId"] == "big"
    assert recent[0]["diff"] == {"truncated": True, "bytes": recent[0]["diff"]["bytes"],
                                 "fields": ["body"]}  # fmt: skip
    assert [r["jobId"] for r in recent[1:3]] == [f"j{RECENT_MAX + 4}", f"j{RECENT_MAX + 3}"]


def test_a_full_lane_counts_the_offer_as_skipped(
    client: FlaskClient, admin: Admin, hook_id: str, fast_settings: Settings,
    shadow_lane: redis.Redis,
) -> None:  # fmt: skip
    put_hook(client, admin, hook_id, script=LIVE)
    results = ShadowResults(shadow_lane, fast_settings)
    assert results.offer(hook_id, SHADOW_QUEUE, b"m") == 0  # no draft: nothing
    client.put(f"/api/hooks/{hook_id}/draft", json={"script": "1"}, headers=admin)
    shadow_lane.lpush(keys.celery_queue(SHADOW_QUEUE), *[b"x"] * fast_settings.shadow_queue_max)
    assert results.offer(hook_id, SHADOW_QUEUE, b"m") == 2
    shadow_lane.delete(keys.celery_queue(SHADOW_QUEUE))
    assert results.offer(hook_id, SHADOW_QUEUE, b"m", skip_why="no tape") == 2
    assert results.offer(hook_id, SHADOW_QUEUE, b"m") == 1
    assert _shadow(client, admin, hook_id)["counts"] == {**ZERO, "skipped": 2}
    metrics = client.get("/metrics").text
    assert f'hooklet_shadow_runs_total{{hook="{hook_id}",outcome="skipped"}} 2.0' in metrics
