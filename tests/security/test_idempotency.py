"""Issue 13 item 3: an idempotency key is no lookup key into someone else's
event, and the public job view shows no sender credentials."""

from __future__ import annotations

import redis
from flask.testing import FlaskClient

from tests.security.conftest import ADMIN
from workers.store import keys

VICTIM = {
    "Idempotency-Key": "order-1001",
    "Authorization": "Bearer victim-token",
    "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
    "Cookie": "session=victim-session",
    "webhook-signature": "v1,c2lnbmF0dXJl",
    "X-Hub-Signature-256": "sha256=abc123",
    "Stripe-Signature": "t=1,v1=def456",
    "X-Request-Note": "kept",
}
CARD = b'{"card": "4242424242424242"}'


def _hook(client: FlaskClient, hook_id: str, **definition: object) -> None:
    response = client.put(
        f"/api/hooks/{hook_id}", json={"script": "null", **definition}, headers=ADMIN
    )
    assert response.status_code == 201, response.json


def test_the_same_key_with_another_request_is_refused(client: FlaskClient, hook_id: str) -> None:
    _hook(client, hook_id)
    victim = client.post(f"/h/{hook_id}", data=CARD, headers=VICTIM)
    assert victim.status_code == 202
    job_id = victim.json["jobId"]

    # The attacker knows the key, not the request: no job id, no event.
    for attempt in (
        {"data": b"{}"},
        {"data": CARD, "query_string": "x=1"},
        {"data": CARD, "method": "PUT"},
    ):
        method = attempt.pop("method", "POST")
        stolen = client.open(
            f"/h/{hook_id}", method=method, headers={"Idempotency-Key": "order-1001"}, **attempt
        )
        assert stolen.status_code == 409, stolen.json
        assert stolen.json["error"]["code"] == "idempotency_key_reused"
        assert job_id not in stolen.get_data(as_text=True)

    # The sender's own retry (same request, whatever its headers) is a duplicate.
    retry = client.post(f"/h/{hook_id}", data=CARD, headers={"Idempotency-Key": "order-1001"})
    assert retry.status_code == 200 and retry.json["jobId"] == job_id
    history = client.get(f"/api/hooks/{hook_id}/jobs", headers=ADMIN).json["jobs"]
    assert [j["jobId"] for j in history] == [job_id]


def test_long_keys_are_hashed_not_cut(
    client: FlaskClient, store: redis.Redis, hook_id: str
) -> None:
    _hook(client, hook_id)
    stem = "k" * 250
    first = client.post(f"/h/{hook_id}", data=b"a", headers={"Idempotency-Key": stem + "-one"})
    second = client.post(f"/h/{hook_id}", data=b"a", headers={"Idempotency-Key": stem + "-two"})
    assert first.status_code == second.status_code == 202
    assert first.json["jobId"] != second.json["jobId"]
    stored = [k.decode() for k in store.scan_iter(match=keys.idempotency_of(hook_id))]
    assert len(stored) == 2 and all(len(k) < 150 for k in stored)


def test_the_public_job_view_redacts_credentials_the_admin_views_keep_them(
    client: FlaskClient, hook_id: str
) -> None:
    _hook(client, hook_id)
    client.set_cookie("session", "victim-session")  # the test client sends cookies itself
    job_id = client.post(f"/h/{hook_id}", data=CARD, headers=VICTIM).json["jobId"]
    client.delete_cookie("session")

    public = client.get(f"/jobs/{job_id}")
    text = public.get_data(as_text=True)
    for secret in (
        "victim-token",
        "cHJveHk6",
        "victim-session",
        "c2lnbmF0dXJl",
        "abc123",
        "def456",
    ):
        assert secret not in text
    headers = public.json["request"]["headers"]
    for name in (
        "authorization",
        "proxy-authorization",
        "cookie",
        "webhook-signature",
        "x-hub-signature-256",
        "stripe-signature",
    ):
        assert headers[name] == "[redacted]", name
    assert headers["x-request-note"] == "kept"

    [admin] = client.get(f"/api/hooks/{hook_id}/jobs", headers=ADMIN).json["jobs"]
    assert admin["request"]["headers"]["authorization"] == "Bearer victim-token"
    har = client.get(f"/api/hooks/{hook_id}/jobs.har", headers=ADMIN).json
    har_headers = {h["name"]: h["value"] for h in har["log"]["entries"][0]["request"]["headers"]}
    assert har_headers["cookie"] == "session=victim-session"
