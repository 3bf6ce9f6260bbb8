"""Verified senders: check a request's signature before it becomes an event.

Schemes, each with its provider's documented algorithm:
- ``standard-webhooks``: the ``standardwebhooks`` library (``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature``; 5 minute tolerance);
- ``stripe``: the ``stripe`` library's ``WebhookSignature`` (``Stripe-Signature``
  with its timestamp tolerance, default 300 s);
- ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``
  (GitHub publishes no library; compared in constant time).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import stripe
from standardwebhooks import Webhook, WebhookVerificationError

from workers.errors import InvalidHook, SignatureInvalid

__all__ = ["SCHEMES", "validate_verify", "verify_request"]

SCHEMES = ("standard-webhooks", "github", "stripe")


def validate_verify(verify: dict[str, Any]) -> dict[str, Any]:
    """Check a hook's ``verify`` block: ``{"scheme", "secret", "toleranceS"?}``."""
    scheme = verify.get("scheme")
    if scheme not in SCHEMES:
        raise InvalidHook("verify.scheme", f"must be one of {', '.join(SCHEMES)}")
    secret = verify.get("secret")
    if not isinstance(secret, str) or not secret:
        raise InvalidHook("verify.secret", "is required")
    if scheme == "standard-webhooks":
        try:
            Webhook(secret)
        except Exception as exc:  # noqa: BLE001 - the library raises several kinds
            raise InvalidHook("verify.secret", f"is not a Standard Webhooks secret: {exc}") from exc
    tolerance = verify.get("toleranceS", 300)
    if not isinstance(tolerance, int) or isinstance(tolerance, bool) or not 1 <= tolerance <= 86400:
        raise InvalidHook("verify.toleranceS", "must be an integer between 1 and 86400")
    unknown = set(verify) - {"scheme", "secret", "toleranceS"}
    if unknown:
        raise InvalidHook("verify", f"unknown field(s) {', '.join(sorted(unknown))}")
    return {"scheme": scheme, "secret": secret, "toleranceS": tolerance}


def verify_request(verify: dict[str, Any], headers: dict[str, str], body: bytes) -> None:
    """Raise ``SignatureInvalid`` unless the request is signed as the hook requires."""
    scheme = verify["scheme"]
    if scheme == "standard-webhooks":
        _standard_webhooks(verify["secret"], headers, body)
    elif scheme == "github":
        _github(verify["secret"], headers, body)
    elif scheme == "stripe":
        _stripe(verify["secret"], headers, body, verify.get("toleranceS", 300))


def _standard_webhooks(secret: str, headers: dict[str, str], body: bytes) -> None:
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except (WebhookVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise SignatureInvalid(f"Standard Webhooks signature rejected: {exc}") from exc


def _github(secret: str, headers: dict[str, str], body: bytes) -> None:
    given = headers.get("x-hub-signature-256", "")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not given:
        raise SignatureInvalid("missing X-Hub-Signature-256 header")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureInvalid("X-Hub-Signature-256 does not match the body")


def _stripe(secret: str, headers: dict[str, str], body: bytes, tolerance_s: int) -> None:
    header = headers.get("stripe-signature")
    if not header:
        raise SignatureInvalid("missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), header, secret, tolerance_s)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise SignatureInvalid(f"Stripe-Signature rejected: {exc}") from exc
