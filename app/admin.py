"""The admin API: ``/api/hooks`` and friends, behind a token with the
scope each needs (``app/access.py``); every change is audited."""

from __future__ import annotations

from dataclasses import replace

import orjson
from flask import Blueprint, Response, jsonify, request

from app import access, services
from app.access import protect, scope
from app.errors import error_response
from app.hook_patch import definition_of, merge_patch, sends_credentials
from app.responses import accepted
from workers.errors import HookChanged, HookNotFound, InvalidHook, InvalidRequest, QuotaExceeded
from workers.hook_validation import validate_hook
from workers.store.access.membership import admit_hook, job_project
from workers.store.access.projects import DEFAULT
from workers.store.hooks import Hook
from workers.store.metrics import count_quota_refusal

__all__ = ["bp"]

bp = protect(Blueprint("admin", __name__, url_prefix="/api"))


# Deeper JSON is refused (400) before anything recurses over it: Python's
# json module and orjson's encoder (254 levels) would fail on it with a 500.
MAX_JSON_DEPTH = 64
# A PATCH merges into the hook it read; when the hook changed before the
# write, it merges again into the new one, this many times at most.
_PATCH_TRIES = 5


def json_body() -> object:
    if not request.is_json:
        raise InvalidRequest("send a JSON body with Content-Type: application/json")
    try:
        data = orjson.loads(request.get_data())  # refuses over 1024 levels, never recurses
    except orjson.JSONDecodeError:
        raise InvalidRequest("the body is not valid JSON") from None
    if _depth_over(data, MAX_JSON_DEPTH):
        raise InvalidRequest(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def _depth_over(data: object, limit: int) -> bool:
    """Whether ``data`` nests deeper than ``limit`` (iterative: no recursion)."""
    level = [data]
    for _ in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return any(isinstance(item, dict | list) for item in level)


@bp.get("/hooks")
@scope("hooks:read")
def list_hooks() -> Response:
    who = access.principal()
    wanted = access.listed_project(request.args.get("project"))  # the admin's ?project=
    hooks = [
        h
        for h in services.dispatcher().hooks.list()
        if who.sees(h.project) and wanted in (None, h.project)
    ]
    return jsonify({"hooks": [h.to_json() for h in hooks]})


@bp.post("/hooks")
@scope("hooks:write")
def create_hook() -> Response:
    data = json_body()
    hook_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(hook_id, str):
        raise InvalidHook("id", "is required")
    store = services.dispatcher().hooks
    try:
        found = store.get(hook_id)
    except LookupError:
        pass
    else:
        if not access.principal().sees(found.project):  # ids are unique across projects
            return error_response(409, "conflict", f"hook id {hook_id!r} is taken")
        return _conflict(hook_id)
    return put_hook(hook_id)


def _with_stored_secrets(hook_id: str, data: dict) -> dict:
    """``?keepSecrets=true`` (the console's editor): secrets and the verify
    secret the body leaves out stay as stored, since the API never shows them."""
    try:
        old = services.dispatcher().hooks.get(hook_id)
    except LookupError:
        return data
    data = {**data}
    if "secrets" not in data:
        data["secrets"] = old.secrets
    verify = data.get("verify")
    if isinstance(verify, dict) and "secret" not in verify and old.verify:
        data["verify"] = {**verify, "secret": old.verify.get("secret")}
    return data


def _conflict(hook_id: str) -> Response:
    return error_response(409, "conflict", f"hook {hook_id!r} exists; PUT to replace it")


@bp.get("/hooks/<hook_id>")
@scope("hooks:read")
def get_hook(hook_id: str) -> Response:
    return jsonify(access.hook(hook_id).to_json())


def _old_hook(hook_id: str) -> Hook | None:
    """The stored hook (``HookNotFound`` if another project's), or None."""
    try:
        return access.hook(hook_id)
    except HookNotFound:
        if access.principal().is_admin:
            return None
        try:
            services.dispatcher().hooks.get(hook_id)
        except HookNotFound:
            return None
        raise  # another project's: as if it did not exist (it cannot be taken)


def _project_for(data: object, old: Hook | None) -> str:
    """The project a definition goes to: the token's; the admin's ``project``
    field (default ``default``); never another for a stored hook."""
    who = access.principal()
    given = data.pop("project", None) if isinstance(data, dict) else None
    if given is not None and not isinstance(given, str):
        raise InvalidHook("project", "a project id")
    if old is not None:
        if given not in (None, old.project):
            raise InvalidHook("project", "a hook cannot move to another project")
        return old.project
    if who.project is not None:
        if given not in (None, who.project):
            raise InvalidHook("project", "a project token creates hooks in its own project")
        return who.project
    project = given or DEFAULT
    if not access.projects().exists(project):
        raise InvalidHook("project", f"no project {project!r}")
    return project


@bp.put("/hooks/<hook_id>")
@scope("hooks:write")
def put_hook(hook_id: str) -> Response:
    data = json_body()
    old = _old_hook(hook_id)
    if isinstance(data, dict):
        data = {**data}
    project = _project_for(data, old)
    sent_secrets = sorted(data.get("secrets") or {}) if isinstance(data, dict) else []
    if request.args.get("keepSecrets") == "true" and isinstance(data, dict):
        data = _with_stored_secrets(hook_id, data)
    hook = replace(
        validate_hook(hook_id, data, services.settings(), services.syntax_checker()),
        project=project,
    )
    quota = access.projects().get(project).quotas.get("maxHooks")
    try:
        stored, created = services.dispatcher().hooks.put(hook, admit=admit_hook(quota))
    except QuotaExceeded:
        count_quota_refusal(services.dispatcher().redis, project, "maxHooks")
        raise
    _audit_put(stored, old, created, sent_secrets)
    body = stored.to_json()
    if created:
        body["callbackSecret"] = stored.callback_secret  # shown once
    response = jsonify(body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/hooks/{stored.id}"
    return response


def _audit_put(stored: Hook, old: Hook | None, created: bool, sent_secrets: list[str]) -> None:
    if old is not None and stored.version == old.version:
        return  # nothing changed
    before = None if old is None else old.version
    action = "hook.create" if created else "hook.update"
    access.audit(action, stored.id, stored.project, before=before, after=stored.version)
    removed = sorted(set(old.secrets) - set(stored.secrets)) if old else []
    for name, names in (("secrets.set", sent_secrets), ("secrets.remove", removed)):
        if names:  # names only, never a value
            detail = {"names": names}
            access.audit(name, stored.id, stored.project, after=stored.version, detail=detail)


@bp.patch("/hooks/<hook_id>")
@scope("hooks:write")
def patch_hook(hook_id: str) -> Response:
    """Change only the fields sent, as JSON Merge Patch (``app/hook_patch.py``)."""
    patch = json_body()
    if not isinstance(patch, dict):
        raise InvalidHook("body", "must be a JSON object")
    settings, checker = services.settings(), services.syntax_checker()
    for _ in range(_PATCH_TRIES):
        old, sent = access.hook(hook_id), {**patch}
        _project_for(sent, old)  # the same project, or 422
        data = merge_patch(definition_of(old), sent)
        hook = replace(validate_hook(hook_id, data, settings, checker), project=old.project)
        if not sends_credentials(sent) and _unchanged(old, hook):
            return jsonify(old.to_json())
        try:
            stored, _ = services.dispatcher().hooks.put(hook, admit=_still(old))
        except HookChanged:
            continue  # changed meanwhile: merge into what is stored now
        secrets = sent.get("secrets") if isinstance(sent.get("secrets"), dict) else {}
        _audit_put(stored, old, False, sorted(k for k, v in secrets.items() if v is not None))
        return jsonify(stored.to_json())
    raise HookChanged(f"hook {hook_id!r} kept changing; send the PATCH again")


def _unchanged(old: Hook, new: Hook) -> bool:
    meta = ("version", "created_at", "updated_at", "callback_secret", "project")
    return replace(new, **{name: getattr(old, name) for name in meta}) == old


def _still(old: Hook):  # noqa: ANN202 - HookStore.put's admit callback
    """Refuse to write if the stored hook is no longer ``old`` (deleted, or
    changed since it was read): a patch merges into what it read."""

    def admit(pipe: object, current: Hook | None, hook: Hook) -> None:
        if current is None or current.version != old.version:
            raise HookChanged(f"hook {old.id!r} changed while it was patched")

    return admit


@bp.delete("/hooks/<hook_id>")
@scope("hooks:write")
def delete_hook(hook_id: str) -> Response:
    old = access.hook(hook_id)
    services.dispatcher().hooks.delete(hook_id)
    access.audit("hook.delete", hook_id, old.project, before=old.version)
    return Response(status=204)


@bp.post("/hooks/<hook_id>/rotate-secret")
@scope("hooks:write")
def rotate_secret(hook_id: str) -> Response:
    """A new callback signing secret, shown once; the old one stops working."""
    old = access.hook(hook_id)
    secret = services.dispatcher().hooks.rotate_secret(hook_id)
    access.audit("hook.rotate-secret", hook_id, old.project, before=old.version)
    return jsonify({"callbackSecret": secret})


@bp.post("/jobs/<job_id>/replay")
@scope("jobs:write")
def replay_job(job_id: str) -> Response:
    project = job_project(access.job(job_id))
    new_job = services.dispatcher().replay(job_id)
    access.audit("job.replay", job_id, project, detail={"newJobId": new_job})
    return accepted(new_job)


@bp.post("/jobs/<job_id>/redeliver")
@scope("jobs:write")
def redeliver_job(job_id: str) -> Response:
    project = job_project(access.job(job_id))
    services.dispatcher().redeliver(job_id)
    access.audit("job.redeliver", job_id, project)
    response = jsonify({"jobId": job_id, "delivery": "queued", "statusUrl": f"/jobs/{job_id}"})
    response.status_code = 202
    return response
