"""Issue 13 items 7 and 11: copies of a sync request do not get round
``maxConcurrent``; a request's stored headers are capped."""

from __future__ import annotations

import concurrent.futures

import pytest
import redis
import requests

from tests.support.stack import Api, wait_until
from workers.store import keys

SLOW = (
    "(() => { const end = Date.now() + 8000; while (Date.now() < end) {}"
    " return { body: 'done' }; })()"
)


@pytest.mark.stack
def test_duplicates_of_a_sync_request_do_not_wait_past_max_concurrent(
    api: Api, hook_id: str, redis_server
) -> None:
    api.put_hook(
        hook_id,
        mode="sync",
        script=SLOW,
        limits={"maxConcurrent": 1, "timeoutMs": 20000, "waitMs": 30000},
    )
    key = {"Idempotency-Key": "same-order"}
    url = f"{api.base}/h/{hook_id}"
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        original = pool.submit(requests.post, url, data=b"x", headers=key, timeout=60)
        history = f"{api.base}/api/hooks/{hook_id}/jobs"
        job = wait_until(
            lambda: (
                (j := api.http.get(history, headers=api.admin, timeout=10).json()["jobs"])
                and j[0]["status"] == "running"
                and j[0]
            ),
            timeout_s=30,
            what="the original running",
        )

        def duplicate(_: int) -> requests.Response:
            return requests.post(url, data=b"x", headers=key, timeout=60)

        copies = list(pool.map(duplicate, range(40)))
        # The slot is still the original's: an other request is refused.
        other = requests.post(url, data=b"y", timeout=60)
        assert not original.done()
        first = original.result()

    # Every copy answered at once with the original's status URL: none waited
    # (before, all 40 waited on a hook limited to 1).
    assert {c.status_code for c in copies} == {202}
    assert {c.json()["jobId"] for c in copies} == {job["jobId"]}
    assert other.status_code == 429
    assert first.status_code == 200 and first.text == "done"
    assert redis.Redis.from_url(redis_server.url).zcard(keys.in_flight(hook_id)) == 0
    # Once the original has ended, a copy gets its answer.
    again = requests.post(url, data=b"x", headers=key, timeout=60)
    assert again.status_code == 200 and again.text == "done"


@pytest.mark.stack
def test_headers_over_the_cap_are_refused_and_nothing_is_stored(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null")
    # Through gunicorn (8 KiB a field): 10 headers of 7 KB, over 64 KiB.
    big = {f"X-Pad-{i}": "p" * 7000 for i in range(10)}
    refused = api.send(hook_id, headers=big)
    assert refused.status_code == 431
    assert refused.json()["error"]["code"] == "request_headers_too_large"
    history = f"{api.base}/api/hooks/{hook_id}/jobs"
    assert api.http.get(history, headers=api.admin, timeout=10).json()["jobs"] == []
    # Under the cap, the same request is taken in.
    del big["X-Pad-9"], big["X-Pad-8"]
    assert api.send(hook_id, headers=big).status_code == 202
