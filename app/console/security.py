"""The console's session: sign-in with the admin token, a signed cookie
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
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from app import services
from app.auth import token_matches
from app.console import sessions
from app.console.cookie import CONSOLE_COOKIE
from workers.errors import HookletError, Unauthorized

__all__ = ["init_app", "require_admin", "signed_in", "csrf_token", "sign_in", "sign_out"]

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


def signed_in() -> bool:
    """Whether the cookie names a session still open in Redis (Redis errors
    are raised: an unknown session is not taken for open)."""
    settings = current_app.config["HOOKLET"]
    session_id = session.get("sid")
    if not settings.admin_token or not isinstance(session_id, str) or not session_id:
        return False
    return sessions.is_open(
        services.dispatcher().redis,
        session_id,
        settings.admin_token,
        settings.console_session_hours,
    )


def sign_in(token: str) -> bool:
    """Start an admin session if ``token`` is the admin token (Redis errors
    are raised: no session without its record)."""
    settings = current_app.config["HOOKLET"]
    expected = settings.admin_token
    if not token_matches(token, expected):
        return False
    session_id = sessions.open_session(
        services.dispatcher().redis, expected, settings.console_session_hours
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


def require_admin() -> None:
    """The console's check for admin API calls: a signed-in session, asked
    from the console's own origin, and the CSRF token on every change."""
    if not signed_in():
        raise Unauthorized("sign in to the console first")
    if not _same_origin(request):
        raise CsrfFailed("cross-origin requests are refused")
    if request.method not in _SAFE_METHODS:
        check_csrf(request.headers.get("X-CSRF-Token"))


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
        HOOKLET_ADMIN_CHECK=require_admin,
    )
    app.after_request(_headers)
