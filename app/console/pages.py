"""The console's pages: HTML shells that its scripts fill from the admin
API (app/console/static/js). Sign-in and sign-out are plain forms."""

from __future__ import annotations

import re
from typing import Any

import redis
from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from app import services
from app.console import security, signin_throttle

__all__ = ["bp"]

bp = Blueprint("console", __name__, template_folder="templates")

_HOOK_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_PAGES = {
    "hooks": "Hooks",
    "jobs": "Jobs",
    "charts": "Charts",
    "fleet": "Fleet",
    "api": "API",
}


def _page(page: str, title: str, **data: Any) -> Response | str:
    try:
        signed_in = security.signed_in()
    except (redis.RedisError, OSError):
        signed_in = False  # the sign-in form says what is wrong
    if not signed_in:
        return redirect(url_for("console.sign_in_form", next=request.path))
    return render_template(
        f"{page}.html",
        page=page,
        title=title,
        nav=_PAGES,
        csrf=security.csrf_token(),
        data=data,
    )


@bp.get("/")
@bp.get("/ui/")
def home() -> Response:
    return redirect(url_for("console.hooks"))


@bp.get("/ui/hooks")
def hooks() -> Response | str:
    return _page("hooks", "Hooks")


@bp.get("/ui/hooks/new")
def new_hook() -> Response | str:
    return _page("editor", "New hook", hook="")


@bp.get("/ui/hooks/<hook_id>")
def edit_hook(hook_id: str) -> Response | str:
    _check(hook_id)
    return _page("editor", f"Hook {hook_id}", hook=hook_id)


@bp.get("/ui/hooks/<hook_id>/history")
def history(hook_id: str) -> Response | str:
    _check(hook_id)
    return _page("history", f"History of {hook_id}", hook=hook_id)


@bp.get("/ui/jobs")
def jobs() -> Response | str:
    return _page("jobs", "Jobs")


@bp.get("/ui/charts")
def charts() -> Response | str:
    return _page("charts", "Charts")


@bp.get("/ui/fleet")
def fleet() -> Response | str:
    return _page("fleet", "Fleet", flower=services.settings().flower_url)


@bp.get("/ui/api")
def api_reference() -> Response | str:
    """The OpenAPI document rendered (vendored Swagger UI), embedded in the
    page: the console's origin does not serve ``/api/openapi.json``."""
    from app.openapi import document

    if not security.signed_in():
        return redirect(url_for("console.sign_in_form", next=request.path))
    return render_template(
        "api.html",
        page="api",
        title="API reference",
        nav=_PAGES,
        csrf=security.csrf_token(),
        data={},
        spec=document(),
    )


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
    return _sign_in_page("That is not the admin token."), 401, {}


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
