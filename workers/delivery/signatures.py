"""Verified senders: check a request's signature before it becomes an event.

Schemes, each with its provider's documented algorithm:
- ``standard-webhooks``: the ``standardwebhooks`` library (``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature``), with the hook's timestamp
  tolerance (``toleranceS``, default 300 s; the library's own is 5 minutes);
- ``stripe``: the ``stripe`` library's ``WebhookSignature`` (``Stripe-Signature``
  with its timestamp tolerance, default 300 s);
- ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``
  (GitHub publishes no library; compared in constant time).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from workers.errors import SignatureInvalid

__all__ = ["SCHEMES", "verify_request"]

SCHEMES = ("standard-webhooks", "github", "stripe")


def verify_request(verify: dict[str, Any], headers: dict[str, str], body: bytes) -> None:
    """Raise ``SignatureInvalid`` unless the request is signed as the hook requires."""
    scheme = verify["scheme"]
    if scheme == "standard-webhooks":
        _standard_webhooks(verify["secret"], headers, body, verify.get("toleranceS", 300))
    elif scheme == "github":
        _github(verify["secret"], headers, body)
    elif scheme == "stripe":
        _stripe(verify["secret"], headers, body, verify.get("toleranceS", 300))


def _standard_webhooks(secret: str, headers: dict[str, str], body: bytes, tolerance_s: int) -> None:
    """The hook's tolerance first; then ``Webhook.verify``, whose own fixed
    window (5 minutes) would refuse a message older than that which a longer
    tolerance admits: such a message is checked with ``Webhook.sign`` alone."""
    try:
        sent_at = float(headers.get("webhook-timestamp") or "")
    except ValueError:
        raise SignatureInvalid("Standard Webhooks signature rejected: no valid timestamp") from None
    age_s = time.time() - sent_at
    if not abs(age_s) <= tolerance_s:  # also refuses nan
        when = "too old" if age_s > 0 else "too new"
        raise SignatureInvalid(
            f"Standard Webhooks signature rejected: timestamp {when} "
            f"(the hook's tolerance is {tolerance_s} s)"
        )
    try:
        webhook = Webhook(secret)
        if abs(age_s) < _LIBRARY_TOLERANCE_S:
            webhook.verify(body, headers, json_parse=False)
        elif not _signed(webhook, headers, body, sent_at):
            raise WebhookVerificationError("No matching signature found")
    except (WebhookVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise SignatureInvalid(f"Standard Webhooks signature rejected: {exc}") from exc


_LIBRARY_TOLERANCE_S = 290  # under ``Webhook.verify``'s fixed 5 minutes, with room


def _signed(webhook: Webhook, headers: dict[str, str], body: bytes, sent_at: float) -> bool:
    """Whether one of the message's signatures is the library's for it."""
    when = datetime.fromtimestamp(sent_at, tz=UTC)
    # A str where it decodes: signed as its UTF-8, by every version's sign()
    data: str | bytes = body.decode("utf-8") if _is_utf8(body) else body
    expected = webhook.sign(headers.get("webhook-id") or "", when, data).encode()  # type: ignore[arg-type]
    given = (headers.get("webhook-signature") or "").split(" ")
    return bool(headers.get("webhook-id")) and any(
        hmac.compare_digest(expected, signature.encode()) for signature in given
    )


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
    # Imported here: the Stripe SDK costs each process that imports it about
    # 200 ms and 27 MB (measured), for this one call made on stripe hooks only.
    import stripe

    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), header, secret, tolerance_s)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise SignatureInvalid(f"Stripe-Signature rejected: {exc}") from exc
