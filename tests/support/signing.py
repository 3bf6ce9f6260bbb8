"""Requests signed as each verified sender signs them (Standard Webhooks,
GitHub, Stripe), for the intake's and the signature checks' tests."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

from standardwebhooks import Webhook

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# At least 32 characters: the minimum hooklet asks of HMAC-SHA256 secrets.
GH_SECRET = "It's a Secret to Everybody, 32 chars+"
STRIPE_SECRET = "whsec_stripe_test_secret_of_32_chars"


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
