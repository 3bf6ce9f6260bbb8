"""Validation of a hook's ``verify`` block (how the intake checks a
sender's signature): its scheme, tolerance and a secret strong enough for
that scheme. Apart from ``hook_validation.py`` because the secret-strength
rules are a policy of their own (RFC 2104, Standard Webhooks)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from standardwebhooks import Webhook

from workers.delivery.signatures import SCHEMES
from workers.errors import InvalidHook

__all__ = ["validate_verify", "MIN_HMAC_SECRET_CHARS", "MIN_STANDARD_SECRET_BYTES"]

# HMAC-SHA256 keys shorter than its 32-byte output weaken it (RFC 2104 3);
# every secret GitHub or Stripe users should hold is at least this long
# (Stripe's are "whsec_" and 32 characters).
MIN_HMAC_SECRET_CHARS = 32
# Standard Webhooks: "between 24 bytes (192 bits) and 64 bytes" of key.
MIN_STANDARD_SECRET_BYTES = 24


def validate_verify(verify: dict[str, Any]) -> dict[str, Any]:
    """Check a hook's ``verify`` block: ``{"scheme", "secret", "toleranceS"?}``."""
    scheme = verify.get("scheme")
    if scheme not in SCHEMES:
        raise InvalidHook("verify.scheme", f"must be one of {', '.join(SCHEMES)}")
    secret = verify.get("secret")
    if not isinstance(secret, str) or not secret:
        raise InvalidHook("verify.secret", "is required")
    tolerance = verify.get("toleranceS", 300)
    if not isinstance(tolerance, int) or isinstance(tolerance, bool) or not 1 <= tolerance <= 86400:
        raise InvalidHook("verify.toleranceS", "must be an integer between 1 and 86400")
    unknown = set(verify) - {"scheme", "secret", "toleranceS"}
    if unknown:
        raise InvalidHook("verify", f"unknown field(s) {', '.join(sorted(unknown))}")
    _check_secret_strength(scheme, secret)
    return {"scheme": scheme, "secret": secret, "toleranceS": tolerance}


def _check_secret_strength(scheme: str, secret: str) -> None:
    """The scheme's minimum: a short secret can be guessed offline from one
    signed request."""
    if scheme == "standard-webhooks":
        try:
            Webhook(secret)
        except Exception as exc:  # noqa: BLE001 - the library raises several kinds
            raise InvalidHook("verify.secret", f"is not a Standard Webhooks secret: {exc}") from exc
        if len(_standard_key(secret)) < MIN_STANDARD_SECRET_BYTES:
            raise InvalidHook(
                "verify.secret",
                f"must hold at least {MIN_STANDARD_SECRET_BYTES} bytes of key "
                "(whsec_ and base64), as Standard Webhooks requires",
            )
    elif len(secret) < MIN_HMAC_SECRET_CHARS:
        raise InvalidHook(
            "verify.secret",
            f"must be at least {MIN_HMAC_SECRET_CHARS} characters for {scheme} "
            "(an HMAC-SHA256 key shorter than 32 bytes weakens it)",
        )


def _standard_key(secret: str) -> bytes:
    """The key bytes of a Standard Webhooks secret, decoded as the library does."""
    try:
        return base64.b64decode(secret.removeprefix("whsec_") + "==")
    except (binascii.Error, ValueError):
        return b""
