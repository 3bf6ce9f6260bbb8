"""The console's pages: HTML shells that its scripts fill from the admin
API (app/console/static/js). Sign-in and sign-out are plain forms."""

from __future__ import annotations

import re
from typing import Any

import redis
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from app import access, services
from app.access import ADMIN, Principal
from app.console import security, signin_throttle
from workers.errors import HookNotFound, JobNotFound
from workers.store.access.tokens import SCOPES

__all__ = ["bp"]

bp = Blueprint("console", __name__, template_folder="templates")

_HOOK_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PAGES = {
    "hooks": "Hooks",
    "jobs": "Jobs",
    "charts": "Charts",
    "fleet": "Fleet",
    "api": "API",
}
# What a page's nav entry needs (the API refuses the rest anyway: 403).
_NEEDS = {"hooks": "hooks:read", "jobs": "jobs:read", "charts": "stats:read", "fleet": ADMIN}


def _nav(who: Principal) -> dict[str, str]:
    return {k: v for k, v in _PAGES.items() if k not in _NEEDS or who.can(_NEEDS[k])}


def _who() -> Principal | None:
    """The session's principal, also as ``access.principal()`` for this
    request (so the pages use the API's own project rules)."""
    if "console_who" in g:
        return g.console_who
    try:
        who = security.session_principal()
    except (redis.RedisError, OSError):
        who = None  # the sign-in form says what is wrong
    g.console_who = who
    if who is not None:
        g.hooklet_principal = who
    return who


def _render(
    page: str, title: str, who: Principal, status: int = 200, extra: Any = None, **data: Any
) -> Any:
    """A page for ``who``: its project and scopes go to the scripts
    (``data-scopes``, ``data-project``), which hide what they do not allow."""
    wanted = request.args.get("project") or ""
    projects = [p.id for p in access.projects().list()] if who.is_admin else []
    html = render_template(
        f"{page}.html",
        page=page,
        title=title,
        nav=_nav(who),
        csrf=security.csrf_token(),
        data=data,
        who=who,
        scopes=" ".join(sorted(SCOPES if who.is_admin else who.scopes)),
        projects=projects,
        chosen=wanted if wanted in projects else "",
        **(extra or {}),
    )
    return html, status


def _page(page: str, title: str, extra: Any = None, **data: Any) -> Any:
    who = _who()
    if who is None:
        return redirect(url_for("console.sign_in_form", next=request.path))
    return _render(page, title, who, extra=extra, **data)


def _not_found(what: str) -> Any:
    who = _who()
    if who is None:
        return redirect(url_for("console.sign_in_form", next=request.path))
    return _render("not_found", "Not found", who, 404, what=what)


@bp.get("/")
@bp.get("/ui/")
def home() -> Response:
    return redirect(url_for("console.hooks"))


@bp.get("/ui/hooks")
def hooks() -> Any:
    return _page("hooks", "Hooks")


@bp.get("/ui/hooks/new")
def new_hook() -> Any:
    return _page("editor", "New hook", hook="")


@bp.get("/ui/hooks/<hook_id>")
def edit_hook(hook_id: str) -> Any:
    _check(hook_id)
    if not _visible(lambda: access.hook(hook_id)):
        return _not_found(f"No hook {hook_id!r}.")
    return _page("editor", f"Hook {hook_id}", hook=hook_id)


@bp.get("/ui/hooks/<hook_id>/history")
def history(hook_id: str) -> Any:
    _check(hook_id)
    if not _visible(lambda: access.hook(hook_id)):
        return _not_found(f"No hook {hook_id!r}.")
    return _page("history", f"History of {hook_id}", hook=hook_id)


@bp.get("/ui/jobs")
def jobs() -> Any:
    return _page("jobs", "Jobs")


@bp.get("/ui/jobs/<job_id>")
def job(job_id: str) -> Any:
    """One job, by a URL typed in or shared: another project's job is
    "not found", exactly as a missing one (``access.job``)."""
    if not _JOB_ID.match(job_id) or not _visible(lambda: access.job(job_id)):
        return _not_found(f"No job {job_id!r}.")
    return _page("job", f"Job {job_id}", job=job_id)


def _visible(read: Any) -> bool:
    """Whether the session may see the object ``read`` fetches (True when
    signed out: ``_page`` then sends the browser to the sign-in form)."""
    if _who() is None:
        return True
    try:
        read()
    except (HookNotFound, JobNotFound):
        return False
    return True


@bp.get("/ui/charts")
def charts() -> Any:
    return _page("charts", "Charts")


@bp.get("/ui/fleet")
def fleet() -> Any:
    return _page("fleet", "Fleet", flower=services.settings().flower_url)


@bp.get("/ui/api")
def api_reference() -> Any:
    """The OpenAPI document rendered (vendored Swagger UI), embedded in the
    page: the console's origin does not serve ``/api/openapi.json``."""
    from app.openapi import document

    return _page("api", "API reference", extra={"spec": document()})


@bp.get("/favicon.ico")
def favicon() -> Response:
    return Response(status=204)  # none; saves a 404 in every browser's log


@bp.get("/ui/sign-in")
def sign_in_form() -> str:
    return render_template(
        "sign_in.html",
        csrf=security.csrf_token(),
        next=_safe_next(request.args.get("next")),
        error=None,
        ready=bool(services.settings().admin_token),
    )


@bp.post("/ui/sign-in")
def sign_in() -> Response | tuple[str, int, dict[str, str]]:
    security.check_csrf(request.form.get("csrf"))
    locked_s = signin_throttle.attempt()  # counted before the token is checked
    if locked_s:
        error = f"Too many failed sign-ins from this address; try again in {locked_s} s."
        return _sign_in_page(error), 429, {"Retry-After": str(locked_s)}
    try:
        signed_in = security.sign_in(request.form.get("token", ""))
    except (redis.RedisError, OSError):
        retry_after = str(services.settings().retry_after_s)
        error = "Redis is unreachable: sessions live there. Try again shortly."
        return _sign_in_page(error), 503, {"Retry-After": retry_after}
    if signed_in:
        signin_throttle.clear()
        return redirect(_safe_next(request.form.get("next")))
    return _sign_in_page("That is not the admin token or a live project token."), 401, {}


def _sign_in_page(error: str) -> str:
    return render_template(
        "sign_in.html",
        csrf=security.csrf_token(),
        next=_safe_next(request.form.get("next")),
        error=error,
        ready=bool(services.settings().admin_token),
    )


@bp.post("/ui/sign-out")
def sign_out() -> Response:
    security.check_csrf(request.form.get("csrf"))
    security.sign_out()
    return redirect(url_for("console.sign_in_form"))


def _check(hook_id: str) -> None:
    if not _HOOK_ID.match(hook_id):
        abort(404)


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself: never another site."""
    if target and target.startswith("/ui/") and "//" not in target and "\\" not in target:
        return target
    return "/ui/hooks"
