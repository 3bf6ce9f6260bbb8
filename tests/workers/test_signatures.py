"""Verified senders (``verify_request``): good, bad, stale and missing
signatures for each scheme. GitHub signs no timestamp, so nothing of its
can be stale."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.signing import (
    GH_SECRET,
    STRIPE_SECRET,
    SW_SECRET,
    github_headers,
    standard_headers,
    stripe_headers,
)
from workers.delivery.signatures import verify_request
from workers.errors import SignatureInvalid

BODY = b'{"event":"ping"}'
STANDARD = {"scheme": "standard-webhooks", "secret": SW_SECRET, "toleranceS": 300}
GITHUB = {"scheme": "github", "secret": GH_SECRET, "toleranceS": 300}
STRIPE = {"scheme": "stripe", "secret": STRIPE_SECRET, "toleranceS": 300}


def lower(headers: dict[str, str]) -> dict[str, str]:
    """As the intake hands them over: names in lower case."""
    return {name.lower(): value for name, value in headers.items()}


def refused(verify: dict, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(SignatureInvalid) as raised:
        verify_request(verify, lower(headers), body)
    assert (raised.value.status, raised.value.code) == (401, "invalid_signature")
    return raised.value.message


def test_standard_webhooks() -> None:
    verify_request(STANDARD, lower(standard_headers(SW_SECRET, BODY)), BODY)
    other_secret = "whsec_" + "QUJD" * 8
    assert "Standard Webhooks" in refused(STANDARD, standard_headers(other_secret, BODY))
    refused(STANDARD, standard_headers(SW_SECRET, BODY), BODY + b" ")  # tampered
    stale = datetime.now(UTC) - timedelta(minutes=10)
    refused(STANDARD, standard_headers(SW_SECRET, BODY, stale))
    future = datetime.now(UTC) + timedelta(minutes=10)
    refused(STANDARD, standard_headers(SW_SECRET, BODY, future))
    refused(STANDARD, {})
    headers = standard_headers(SW_SECRET, BODY)
    del headers["webhook-signature"]
    refused(STANDARD, headers)


def test_github() -> None:
    verify_request(GITHUB, lower(github_headers(GH_SECRET, BODY)), BODY)
    message = refused(GITHUB, github_headers("another secret", BODY))
    assert message == "X-Hub-Signature-256 does not match the body"
    refused(GITHUB, github_headers(GH_SECRET, BODY), BODY + b" ")
    refused(GITHUB, {"X-Hub-Signature-256": "sha1=" + "0" * 40})
    assert refused(GITHUB, {}) == "missing X-Hub-Signature-256 header"


def test_stripe() -> None:
    verify_request(STRIPE, lower(stripe_headers(STRIPE_SECRET, BODY)), BODY)
    assert "Stripe-Signature rejected" in refused(STRIPE, stripe_headers("whsec_other", BODY))
    refused(STRIPE, stripe_headers(STRIPE_SECRET, BODY), BODY + b" ")
    refused(STRIPE, stripe_headers(STRIPE_SECRET, BODY, int(time.time()) - 600))
    refused(STRIPE, {"Stripe-Signature": "t=1,v0=abc"})
    assert refused(STRIPE, {}) == "missing Stripe-Signature header"


def test_stripe_honours_the_hooks_tolerance() -> None:
    ten_minutes_ago = stripe_headers(STRIPE_SECRET, BODY, int(time.time()) - 600)
    verify_request({**STRIPE, "toleranceS": 900}, lower(ten_minutes_ago), BODY)
    refused(
        {**STRIPE, "toleranceS": 60}, stripe_headers(STRIPE_SECRET, BODY, int(time.time()) - 120)
    )


def test_a_body_that_is_not_utf8_is_refused_not_an_error() -> None:
    body = b"\xff\xfe"
    refused(STANDARD, standard_headers(SW_SECRET, BODY), body)
    refused(STRIPE, stripe_headers(STRIPE_SECRET, BODY), body)
