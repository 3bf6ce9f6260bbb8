"""Who is calling the API and what it may touch.

Every ``/api`` blueprint is ``protect``-ed: before each request the bearer
token is resolved to a ``Principal`` (401 without one or with a wrong one,
429 once a client has sent too many wrong ones) and the view's declared
scope is checked (403 naming it). A view declares its scope with
``@scope("hooks:read")``; a view that declares none is for the admin token
alone, so a route added without thought is never open to project tokens.

- the admin token (``HOOKLET_ADMIN_TOKEN``, or a console session opened
  with it): every scope on every project, plus projects, the fleet and Flower;
- a project token (``workers/store/access/tokens.py``, or a console session
  opened with one): its scopes, on its project. Anything of another project
  answers 404 exactly as a missing one does: views read hooks and jobs
  through ``hook`` and ``job`` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request

from app import auth_throttle, services
from app.auth import bearer_token, token_matches
from workers.errors import Forbidden, HookNotFound, JobNotFound, NotFound, Unauthorized
from workers.store.access.audit import AuditEntry, AuditLog
from workers.store.access.membership import job_project
from workers.store.access.projects import ProjectStore
from workers.store.access.tokens import SCOPES, TokenRecord, TokenStore
from workers.store.hooks import Hook

__all__ = [
    "ADMIN",
    "Principal",
    "scope",
    "protect",
    "principal",
    "token_principal",
    "listed_project",
    "hook",
    "job",
    "audit",
    "projects",
    "tokens",
    "audit_log",
]

ADMIN = "admin"  # what a view without a declared scope needs: the admin token
_SCOPE_ATTR = "_hooklet_scope"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    token_id: str
    name: str
    project: str | None  # None: every project (the admin)
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return self.project is None

    def can(self, needed: str) -> bool:
        return self.is_admin or needed in self.scopes

    def sees(self, project: str) -> bool:
        return self.project is None or self.project == project


ADMIN_PRINCIPAL = Principal("admin", "admin", None, frozenset(SCOPES))


def scope(needed: str) -> Callable[[F], F]:
    """Declare the scope a view needs (checked by ``protect``'s before-request)."""

    def mark(view: F) -> F:
        setattr(view, _SCOPE_ATTR, needed)
        return view

    return mark


def needed_scope(endpoint: str | None) -> str:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, _SCOPE_ATTR, ADMIN)


def token_principal(record: TokenRecord) -> Principal:
    """What a project token's live record may do."""
    return Principal(record.id, record.name, record.project, frozenset(record.scopes))


def _authenticate() -> Principal:
    check = current_app.config.get("HOOKLET_SESSION_CHECK")
    if check is not None:  # the console: its session and CSRF token, not the bearer
        return check()
    given = bearer_token()
    if not given:
        raise Unauthorized("send a token: Authorization: Bearer <token>")
    auth_throttle.check()
    if token_matches(given, services.settings().admin_token):
        return ADMIN_PRINCIPAL
    record = tokens().lookup(given)
    if record is None:
        auth_throttle.failed()
        if not services.settings().admin_token and not given.startswith("hlt_"):
            raise Unauthorized("the admin API is disabled: set HOOKLET_ADMIN_TOKEN")
        raise Unauthorized("wrong, revoked or expired token")
    return token_principal(record)


def _authorize() -> None:
    who = _authenticate()
    g.hooklet_principal = who
    needed = needed_scope(request.endpoint)
    if not who.can(needed):
        if needed == ADMIN:
            raise Forbidden("only the admin token may do this")
        raise Forbidden(f"this token lacks the scope {needed}", scope=needed)


def protect(bp: Blueprint) -> Blueprint:
    """Resolve the token and check the view's scope before every route of ``bp``."""
    bp.before_request(_authorize)
    return bp


def principal() -> Principal:
    return g.hooklet_principal


def listed_project(wanted: str | None) -> str | None:
    """The project a listing shows: a project token's own; the admin's
    ``?project=`` choice (None: every project). A project the caller cannot
    see, or that does not exist, is ``NotFound``."""
    who = principal()
    if wanted and (not who.sees(wanted) or not projects().exists(wanted)):
        raise NotFound(f"no project {wanted!r}")
    return who.project or wanted or None


def hook(hook_id: str) -> Hook:
    """The hook, if the caller's project owns it; else ``HookNotFound``, as
    for a hook that does not exist."""
    found = services.dispatcher().hooks.get(hook_id)
    if not principal().sees(found.project):
        raise HookNotFound(f"no hook named {hook_id!r}")
    return found


def job(job_id: str) -> dict[bytes, bytes]:
    """The stored job, if the caller's project owns it; else ``JobNotFound``."""
    raw = services.dispatcher().jobs.get(job_id)
    if raw is None or not principal().sees(job_project(raw)):
        raise JobNotFound(f"no job {job_id!r}")
    return raw


def audit(action: str, obj: str, project: str, **fields: Any) -> None:
    """Record a change made by the caller (``AuditEntry``'s other fields)."""
    who = principal()
    audit_log().record(AuditEntry(who.token_id, who.name, project, action, obj, **fields))


def _ext(name: str, build: Callable[[], Any]) -> Any:
    ext = current_app.extensions
    if name not in ext:
        ext[name] = build()
    return ext[name]


def projects() -> ProjectStore:
    return _ext("hooklet.projects", lambda: ProjectStore(services.dispatcher().redis))


def tokens() -> TokenStore:
    return _ext("hooklet.tokens", lambda: TokenStore(services.dispatcher().redis))


def audit_log() -> AuditLog:
    settings = services.settings()
    return _ext(
        "hooklet.audit",
        lambda: AuditLog(services.dispatcher().redis, settings.audit_retention_s),
    )
