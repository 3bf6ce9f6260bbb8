"""The console's session: sign-in with the admin token or a project token
(``hlt_…``: the session then holds that token's project and scopes, checked
by the same ``@scope`` rules as the API, app/access.py), a signed cookie
(HttpOnly, SameSite=Strict, host-only, Secure on HTTPS) that carries the id
of a session kept in Redis (app/console/sessions.py: sign-out, a new admin
token or the session's end closes it on every process), a CSRF token checked
on every change, and the headers every console answer carries (a strict CSP
without inline scripts, no framing, no caching of admin data).

A hook's page can be same-site with the console (ports do not separate
cookies or sites), so the session never relies on SameSite alone: a change
needs the CSRF token, which only the console's own pages can read; admin
reads refuse requests that a browser marks as cross-origin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from app import access, services
from app.access import ADMIN_PRINCIPAL, Principal
from app.auth import token_matches
from app.console import sessions
from app.console.cookie import CONSOLE_COOKIE
from workers.errors import HookletError, Unauthorized

__all__ = [
    "init_app",
    "require_session",
    "session_principal",
    "signed_in",
    "csrf_token",
    "sign_in",
    "sign_out",
]

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CsrfFailed(HookletError):
    """The change did not carry this session's CSRF token."""

    code, status = "csrf_failed", 403


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure whenever the request came over
    HTTPS (or the operator says the console sits behind TLS)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        settings = app.config["HOOKLET"]
        return bool(settings.console_secure_cookies or request.is_secure)


def _secret_key(admin_token: str) -> str:
    # Derived from the admin token: every console process agrees, and a new
    # token ends every session.
    return hmac.new(admin_token.encode(), b"hooklet console session v1", hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """This session's CSRF token (made on first use, before sign-in too)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def session_principal() -> Principal | None:
    """Who the cookie's session acts for, if it is still open in Redis: the
    admin, or a project token whose record is still live (re-read on every
    request, as the API does: a revoked or expired token ends the session
    here). Redis errors are raised: an unknown session is not taken for open."""
    settings = current_app.config["HOOKLET"]
    session_id = session.get("sid")
    if not settings.admin_token or not isinstance(session_id, str) or not session_id:
        return None
    client = services.dispatcher().redis
    hours = settings.console_session_hours
    token_id = sessions.opened_with(client, session_id, settings.admin_token, hours)
    if token_id is None:
        return None
    if token_id == sessions.ADMIN:
        return ADMIN_PRINCIPAL
    record = access.tokens().get(token_id)
    if record is None or (record.expires_at is not None and record.expires_at <= time.time()):
        sessions.end_session(client, session_id)  # revoked or expired: closed for good
        return None
    return access.token_principal(record)


def signed_in() -> bool:
    return session_principal() is not None


def sign_in(token: str) -> bool:
    """Start a session if ``token`` is the admin token or a live project
    token (Redis errors are raised: no session without its record)."""
    settings = current_app.config["HOOKLET"]
    expected = settings.admin_token
    if not expected:
        return False  # the cookie's key comes from the admin token
    if token_matches(token, expected):
        token_id = sessions.ADMIN
    else:
        record = access.tokens().lookup(token) if token.startswith("hlt_") else None
        if record is None:
            return False
        token_id = record.id
    session_id = sessions.open_session(
        services.dispatcher().redis, expected, settings.console_session_hours, token_id
    )
    session.clear()  # a fresh session (and CSRF token) after sign-in
    session.permanent = True
    session["sid"] = session_id
    csrf_token()
    return True


def sign_out() -> None:
    """End the session everywhere (its Redis record), then forget the cookie."""
    session_id = session.get("sid")
    session.clear()
    if isinstance(session_id, str) and session_id:
        sessions.end_session(services.dispatcher().redis, session_id)


def _same_origin(req: Request) -> bool:
    """False when the browser says the request came from another origin."""
    site = req.headers.get("Sec-Fetch-Site")
    if site not in (None, "same-origin", "none"):
        return False
    origin = req.headers.get("Origin")
    # Host only: behind a TLS-terminating proxy the scheme seen here is http.
    return origin is None or urlsplit(origin).netloc == req.host


def check_csrf(given: str | None) -> None:
    expected = session.get("csrf")
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfFailed("missing or wrong CSRF token; reload the page")


def require_session() -> Principal:
    """The console's check for API calls: a signed-in session, asked from
    the console's own origin, and the CSRF token on every change; who the
    session acts for (app/access.py then checks the view's scope)."""
    who = session_principal()
    if who is None:
        raise Unauthorized("sign in to the console first")
    if not _same_origin(request):
        raise CsrfFailed("cross-origin requests are refused")
    if request.method not in _SAFE_METHODS:
        check_csrf(request.headers.get("X-CSRF-Token"))
    return who


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if not request.path.startswith("/ui/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask, settings: Any) -> None:
    app.secret_key = _secret_key(settings.admin_token or secrets.token_hex(32))
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=CONSOLE_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_DOMAIN=None,  # host-only: no Domain attribute
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=settings.console_session_hours * 3600,
        HOOKLET_SESSION_CHECK=require_session,
    )
    app.after_request(_headers)
