"""Idempotent intake and verified senders, at the HTTP level. (Each scheme's
good, bad, stale and missing signatures: tests/workers/test_signatures.py;
a sync retry's answer: tests/e2e/test_sync.py.)"""

from __future__ import annotations

import concurrent.futures
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support import signing
from tests.support.fast import history, put_hook, send

Admin = dict[str, str]
BODY = b'{"event":"ping"}'


@pytest.mark.parametrize(
    ("definition", "header"),
    [
        ({}, "Idempotency-Key"),
        ({}, "webhook-id"),
        ({"idempotencyHeader": "X-GitHub-Delivery"}, "X-GitHub-Delivery"),
    ],
)
def test_a_repeated_event_returns_the_original_job(
    client: FlaskClient, admin: Admin, hook_id: str, definition, header: str
) -> None:
    put_hook(client, admin, hook_id, script="null", **definition)
    first = send(client, hook_id, data=BODY, headers={header: "delivery-1"})
    again = send(client, hook_id, data=BODY, headers={header: "delivery-1"})
    other = send(client, hook_id, data=BODY, headers={header: "delivery-2"})
    assert first.status_code == 202 and again.status_code == 200
    assert again.json["jobId"] == first.json["jobId"]
    assert again.headers["Location"] == first.headers["Location"]
    assert other.status_code == 202 and other.json["jobId"] != first.json["jobId"]
    assert len(history(client, admin, hook_id)) == 2


def test_copies_sent_at_once_make_one_job(
    flask_app: Flask, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="null")

    def copy(_: int):
        # A client per thread, as separate connections would be.
        return send(flask_app.test_client(), hook_id, data=BODY, headers={"webhook-id": "msg_1"})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(copy, range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [202]
    assert len({a.json["jobId"] for a in answers}) == 1
    assert len(history(client, admin, hook_id)) == 1


SCHEMES = {
    "standard-webhooks": (signing.SW_SECRET, signing.standard_headers),
    "github": (signing.GH_SECRET, signing.github_headers),
    "stripe": (signing.STRIPE_SECRET, signing.stripe_headers),
}


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_signed_senders(client: FlaskClient, admin: Admin, hook_id: str, scheme: str) -> None:
    secret, sign = SCHEMES[scheme]
    put_hook(client, admin, hook_id, script="null", verify={"scheme": scheme, "secret": secret})
    good = send(client, hook_id, data=BODY, headers=sign(secret, BODY))
    assert good.status_code == 202, good.text
    wrong_secret = send(client, hook_id, data=BODY, headers=sign(secret[:-1] + "x", BODY))
    tampered = send(client, hook_id, data=BODY + b" ", headers=sign(secret, BODY))
    missing = send(client, hook_id, data=BODY)
    for response in (wrong_secret, tampered, missing):
        assert response.status_code == 401, response.text
        assert response.json["error"]["code"] == "invalid_signature"
    assert len(history(client, admin, hook_id)) == 1  # no job for a rejected request


def test_stale_timestamps_are_rejected(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    stripe = {"scheme": "stripe", "secret": signing.STRIPE_SECRET}
    put_hook(client, admin, hook_id, script="null", verify=stripe)
    headers = signing.stripe_headers(signing.STRIPE_SECRET, BODY, int(time.time()) - 600)
    assert send(client, hook_id, data=BODY, headers=headers).status_code == 401
    other = hook_id + "-sw"
    verify = {"scheme": "standard-webhooks", "secret": signing.SW_SECRET}
    put_hook(client, admin, other, script="null", verify=verify)
    old = datetime.now(UTC) - timedelta(minutes=10)
    headers = signing.standard_headers(signing.SW_SECRET, BODY, old)
    assert send(client, other, data=BODY, headers=headers).status_code == 401


def test_verify_secrets_are_never_returned(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    github = {"scheme": "github", "secret": signing.GH_SECRET}
    put_hook(client, admin, hook_id, script="null", verify=github)
    response = client.get(f"/api/hooks/{hook_id}", headers=admin)
    assert signing.GH_SECRET not in response.text
    assert response.json["verify"] == {"scheme": "github", "toleranceS": 300}


def test_unknown_scheme_is_422(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    response = client.put(
        f"/api/hooks/{hook_id}", json={"verify": {"scheme": "md5", "secret": "x"}}, headers=admin
    )
    assert response.status_code == 422
    assert response.json["error"]["message"].startswith("verify.scheme:")
