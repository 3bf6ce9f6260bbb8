"""What the public job view (``GET /jobs/<id>``, ``render_job`` without
``admin``) hides of the request: the credentials a sender sent. Anyone
holding the job's URL may read the view; the admin views (history, HAR) keep
everything."""

from __future__ import annotations

__all__ = ["REDACTED", "is_credential", "redact_headers"]

REDACTED = "[redacted]"

# Sent as credentials by clients and by webhook senders (GitLab sends its
# secret token as is).
_CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "x-auth-token",
        "x-gitlab-token",
    }
)
# Signatures: webhook-signature, x-hub-signature(-256), stripe-signature,
# x-slack-signature, svix-signature, x-shopify-hmac-sha256, ...
_CREDENTIAL_PARTS = ("signature", "hmac")


def is_credential(name: str) -> bool:
    name = name.lower()
    return name in _CREDENTIAL_HEADERS or any(part in name for part in _CREDENTIAL_PARTS)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with the values of credential headers replaced."""
    return {name: REDACTED if is_credential(name) else value for name, value in headers.items()}
