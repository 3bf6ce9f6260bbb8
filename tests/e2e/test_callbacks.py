"""Signed callbacks with retries, redelivery and replay, against a real receiver.
(The retry schedule itself: tests/workers/test_delivery.py; refused callback
URLs: tests/app/test_admin.py.)"""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

from tests.support.receiver import Receiver, Reply
from tests.support.stack import Api, Worker, wait_until

pytestmark = pytest.mark.stack


@pytest.fixture
def cb_api(api: Api, callbacks_worker: Worker) -> Api:
    return api


def make_hook(api: Api, hook_id: str, receiver: Receiver, script: str = "({ body: 'hi' })") -> str:
    response = api.http.put(
        f"{api.base}/api/hooks/{hook_id}",
        json={"script": script, "callbackUrl": receiver.url},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text
    secret = response.json()["callbackSecret"]
    assert secret.startswith("whsec_")
    return secret


def delivery(api: Api, job_id: str, status: str, timeout_s: float = 20) -> dict:
    return wait_until(
        lambda: (d := api.job(job_id).get("delivery")) and d["status"] == status and d,
        timeout_s=timeout_s,
        what=f"delivery {status}",
    )


def test_callback_is_signed_and_carries_the_result(cb_api: Api, hook_id: str, receiver) -> None:
    secret = make_hook(cb_api, hook_id, receiver, "({ statusCode: 201, body: { n: 1 } })")
    job = cb_api.run(hook_id)
    attempts = delivery(cb_api, job["jobId"], "succeeded")["attempts"]
    assert [a["statusCode"] for a in attempts] == [200]
    [got] = receiver.for_job(job["jobId"])
    Webhook(secret).verify(got.body, got.headers)  # raises if the signature is wrong
    assert got.headers["webhook-id"] == f"msg_{job['jobId']}"
    payload = json.loads(got.body)
    assert payload["jobId"] == job["jobId"] and payload["hookId"] == hook_id
    assert payload["status"] == "succeeded" and payload["reason"] is None
    assert payload["result"] == {
        "statusCode": 201,
        "headers": {},  # issue 15: as secutils, no content-type is added
        "body": '{"n":1}',
        "bodyEncoding": "utf-8",
    }
    assert payload["durationMs"] > 0 and payload["finishedAt"]


def test_failed_jobs_are_delivered_too(cb_api: Api, hook_id: str, receiver) -> None:
    make_hook(cb_api, hook_id, receiver, "throw new Error('bad')")
    job = cb_api.run(hook_id)
    delivery(cb_api, job["jobId"], "succeeded")
    payload = json.loads(receiver.for_job(job["jobId"])[0].body)
    assert (payload["status"], payload["reason"]) == ("failed", "error")


def test_retries_follow_the_schedule_until_2xx(cb_api: Api, hook_id: str, receiver) -> None:
    receiver.plan = [Reply(500), Reply(503)]
    make_hook(cb_api, hook_id, receiver)
    job = cb_api.run(hook_id)
    attempts = delivery(cb_api, job["jobId"], "succeeded")["attempts"]
    assert [a["statusCode"] for a in attempts] == [500, 503, 200]
    got = receiver.for_job(job["jobId"])
    assert len({r.headers["webhook-id"] for r in got}) == 1  # stable across retries
    gaps = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
    assert all(gap >= 0.85 for gap in gaps), gaps  # schedule 1 s with ±10% jitter


def test_exhausted_retries_fail_the_delivery_not_the_job(cb_api, hook_id, receiver) -> None:
    receiver.default = Reply(500)
    make_hook(cb_api, hook_id, receiver)
    job = cb_api.run(hook_id)
    final = delivery(cb_api, job["jobId"], "failed", timeout_s=30)
    assert len(final["attempts"]) == 4  # the first try and 3 retries
    assert all(a["error"] == "HTTP 500" for a in final["attempts"])
    assert cb_api.job(job["jobId"])["status"] == "succeeded"
    assert final["nextAttemptAt"] is None


def test_410_gone_stops_retrying(cb_api: Api, hook_id: str, receiver) -> None:
    receiver.default = Reply(410)
    make_hook(cb_api, hook_id, receiver)
    job = cb_api.run(hook_id)
    assert len(delivery(cb_api, job["jobId"], "failed")["attempts"]) == 1


def test_retry_after_is_honoured(cb_api: Api, hook_id: str, receiver) -> None:
    receiver.plan = [Reply(429, {"Retry-After": "3"})]
    make_hook(cb_api, hook_id, receiver)
    job = cb_api.run(hook_id)
    delivery(cb_api, job["jobId"], "succeeded")
    first, second = receiver.for_job(job["jobId"])
    assert second.at - first.at >= 2.9


def test_a_slow_receiver_times_out_and_is_retried(cb_api, hook_id, receiver) -> None:
    receiver.plan = [Reply(200, delay_s=3)]  # over the 2 s test timeout
    make_hook(cb_api, hook_id, receiver)
    job = cb_api.run(hook_id)
    attempts = delivery(cb_api, job["jobId"], "succeeded")["attempts"]
    assert attempts[0]["error"] == "timeout" and attempts[1]["statusCode"] == 200


def test_redeliver_sends_again(cb_api: Api, hook_id: str, receiver) -> None:
    make_hook(cb_api, hook_id, receiver)
    job = cb_api.run(hook_id)
    delivery(cb_api, job["jobId"], "succeeded")
    response = cb_api.http.post(
        f"{cb_api.base}/api/jobs/{job['jobId']}/redeliver", headers=cb_api.admin
    )
    assert response.status_code == 202
    wait_until(lambda: len(receiver.for_job(job["jobId"])) == 2, what="the redelivery")
    first, second = receiver.for_job(job["jobId"])
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_a_replayed_jobs_callback_is_delivered(cb_api: Api, hook_id: str, receiver) -> None:
    # What a replay is (a new job, linked, the same event): tests/app/test_admin.py.
    make_hook(cb_api, hook_id, receiver, "({ body: String.fromCharCode(...context.body) })")
    original = cb_api.run(hook_id, data=b"payload")
    response = cb_api.http.post(
        f"{cb_api.base}/api/jobs/{original['jobId']}/replay", headers=cb_api.admin
    )
    replay = cb_api.wait_job(response.json()["jobId"])
    delivery(cb_api, replay["jobId"], "succeeded")
    payload = json.loads(receiver.for_job(replay["jobId"])[0].body)
    assert payload["jobId"] == replay["jobId"] and payload["status"] == "succeeded"


def test_callbacks_are_signed_with_the_rotated_secret(cb_api: Api, hook_id, receiver) -> None:
    # The API side of rotating (a new secret, shown once): tests/app/test_admin.py.
    make_hook(cb_api, hook_id, receiver)
    response = cb_api.http.post(
        f"{cb_api.base}/api/hooks/{hook_id}/rotate-secret", headers=cb_api.admin
    )
    new = response.json()["callbackSecret"]
    job = cb_api.run(hook_id)
    delivery(cb_api, job["jobId"], "succeeded")
    got = receiver.for_job(job["jobId"])[0]
    Webhook(new).verify(got.body, got.headers)
