"""Idempotent intake and verified senders."""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from standardwebhooks import Webhook

from tests.support.stack import Api

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
GH_SECRET = "It's a Secret to Everybody, 32 chars+"
STRIPE_SECRET = "whsec_stripe_test_secret_of_32_chars"
BODY = b'{"event":"ping"}'


def history(api: Api, hook_id: str) -> list[dict]:
    return api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs", headers=api.admin).json()["jobs"]


@pytest.mark.parametrize(
    ("definition", "header"),
    [
        ({}, "Idempotency-Key"),
        ({}, "webhook-id"),
        ({"idempotencyHeader": "X-GitHub-Delivery"}, "X-GitHub-Delivery"),
    ],
)
def test_a_repeated_event_returns_the_original_job(
    api: Api, hook_id: str, definition, header: str
) -> None:
    api.put_hook(hook_id, script="null", **definition)
    first = api.send(hook_id, data=BODY, headers={header: "delivery-1"})
    again = api.send(hook_id, data=BODY, headers={header: "delivery-1"})
    other = api.send(hook_id, data=BODY, headers={header: "delivery-2"})
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["jobId"] == first.json()["jobId"]
    assert again.headers["Location"] == first.headers["Location"]
    assert other.status_code == 202 and other.json()["jobId"] != first.json()["jobId"]
    assert len(history(api, hook_id)) == 2


def test_copies_sent_at_once_make_one_job(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null")
    url = f"{api.base}/h/{hook_id}"

    def send(_: int) -> requests.Response:
        return requests.post(url, data=BODY, headers={"webhook-id": "msg_1"}, timeout=10)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [202]
    assert len({a.json()["jobId"] for a in answers}) == 1
    assert len(history(api, hook_id)) == 1


def test_a_sync_retry_gets_the_original_answer(api: Api, hook_id: str) -> None:
    api.put_hook(
        hook_id, mode="sync", script="({ body: String(Math.random()) })", debugHeaders=True
    )
    first = api.send(hook_id, headers={"Idempotency-Key": "k"})
    again = api.send(hook_id, headers={"Idempotency-Key": "k"})
    assert first.text == again.text
    assert first.headers["X-Hooklet-Job"] == again.headers["X-Hooklet-Job"]


def standard_headers(secret: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    at = at or datetime.now(UTC)
    msg_id = f"msg_{time.time_ns()}"
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def github_headers(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def stripe_headers(secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    at = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={at},v1={digest}"}


SCHEMES = {
    "standard-webhooks": (SW_SECRET, standard_headers),
    "github": (GH_SECRET, github_headers),
    "stripe": (STRIPE_SECRET, stripe_headers),
}


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_signed_senders(api: Api, hook_id: str, scheme: str) -> None:
    secret, sign = SCHEMES[scheme]
    api.put_hook(hook_id, script="null", verify={"scheme": scheme, "secret": secret})
    good = api.send(hook_id, data=BODY, headers=sign(secret, BODY))
    assert good.status_code == 202, good.text
    wrong_secret = api.send(hook_id, data=BODY, headers=sign(secret[:-1] + "x", BODY))
    tampered = api.send(hook_id, data=BODY + b" ", headers=sign(secret, BODY))
    missing = api.send(hook_id, data=BODY)
    for response in (wrong_secret, tampered, missing):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "invalid_signature"
    assert len(history(api, hook_id)) == 1  # no job for a rejected request


def test_stale_timestamps_are_rejected(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null", verify={"scheme": "stripe", "secret": STRIPE_SECRET})
    stale = api.send(
        hook_id, data=BODY, headers=stripe_headers(STRIPE_SECRET, BODY, int(time.time()) - 600)
    )
    assert stale.status_code == 401
    other = hook_id + "-sw"
    api.put_hook(other, script="null", verify={"scheme": "standard-webhooks", "secret": SW_SECRET})
    old = datetime.now(UTC) - timedelta(minutes=10)
    assert (
        api.send(other, data=BODY, headers=standard_headers(SW_SECRET, BODY, old)).status_code
        == 401
    )


def test_verify_secrets_are_never_returned(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null", verify={"scheme": "github", "secret": GH_SECRET})
    response = api.http.get(f"{api.base}/api/hooks/{hook_id}", headers=api.admin)
    assert GH_SECRET not in response.text
    assert response.json()["verify"] == {"scheme": "github", "toleranceS": 300}


def test_unknown_scheme_is_422(api: Api, hook_id: str) -> None:
    response = api.http.put(
        f"{api.base}/api/hooks/{hook_id}",
        json={"verify": {"scheme": "md5", "secret": "x"}},
        headers=api.admin,
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("verify.scheme:")
