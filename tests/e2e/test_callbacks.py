"""Signed callbacks with retries, redelivery and replay, against a real receiver."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

from tests.support.receiver import Receiver, Reply
from tests.support.stack import Api, Worker, wait_until


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
        "headers": {"content-type": "application/json"},
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


def test_replay_runs_the_event_again_as_a_new_job(cb_api: Api, hook_id: str, receiver) -> None:
    make_hook(cb_api, hook_id, receiver, "({ body: String.fromCharCode(...context.body) })")
    original = cb_api.run(hook_id, data=b"payload")
    response = cb_api.http.post(
        f"{cb_api.base}/api/jobs/{original['jobId']}/replay", headers=cb_api.admin
    )
    assert response.status_code == 202
    replay = cb_api.wait_job(response.json()["jobId"])
    assert replay["jobId"] != original["jobId"] and replay["replayOf"] == original["jobId"]
    assert replay["result"]["body"] == "payload"
    delivery(cb_api, replay["jobId"], "succeeded")


def test_rotating_the_secret(cb_api: Api, hook_id: str, receiver) -> None:
    old = make_hook(cb_api, hook_id, receiver)
    response = cb_api.http.post(
        f"{cb_api.base}/api/hooks/{hook_id}/rotate-secret", headers=cb_api.admin
    )
    new = response.json()["callbackSecret"]
    assert new != old and new.startswith("whsec_")
    hook = cb_api.http.get(f"{cb_api.base}/api/hooks/{hook_id}", headers=cb_api.admin)
    assert new not in hook.text and old not in hook.text
    job = cb_api.run(hook_id)
    delivery(cb_api, job["jobId"], "succeeded")
    got = receiver.for_job(job["jobId"])[0]
    Webhook(new).verify(got.body, got.headers)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/hook", "http://169.254.169.254/latest", "http://[::1]:8080/"]
)
def test_internal_callback_urls_are_refused(api: Api, hook_id: str, url: str) -> None:
    response = api.http.put(
        f"{api.base}/api/hooks/{hook_id}",
        json={"script": "null", "callbackUrl": url},
        headers=api.admin,
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("callbackUrl:")
    assert "URL not allowed: " in response.json()["error"]["message"]
