"""``/api/projects``: projects and their quotas (the admin token only).

A project owns hooks, their jobs, KV, stats and audit entries; ``default``
always exists and holds every hook stored before there were projects.
Deleting a project that still has hooks is refused unless ``?cascade=true``,
which deletes its hooks (and what they own) and revokes its tokens.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from app import access, services
from app.access import protect
from app.admin import json_body
from app.errors import error_response
from workers.errors import InvalidRequest
from workers.store.access.membership import project_hook_ids
from workers.store.access.projects import Project, check_id, check_quotas

__all__ = ["bp"]

bp = protect(Blueprint("projects_api", __name__, url_prefix="/api"))


def _object() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidRequest('send an object: {"id", "name", "quotas"}')
    unknown = sorted(set(body) - {"id", "name", "quotas"})
    if unknown:
        raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= 200):
        raise InvalidRequest("name: 1-200 characters")
    return body


@bp.get("/projects")
def list_projects() -> Response:
    return jsonify({"projects": [p.to_json() for p in access.projects().list()]})


@bp.post("/projects")
def create_project() -> Response:
    body = _object()
    project_id = check_id(body.get("id"))
    project = Project(
        project_id, body.get("name") or project_id, check_quotas(body.get("quotas") or {})
    )
    stored = access.projects().create(project)
    access.audit("project.create", project_id, project_id, after=stored.version)
    response = jsonify(stored.to_json())
    response.status_code = 201
    response.headers["Location"] = f"/api/projects/{project_id}"
    return response


@bp.get("/projects/<project_id>")
def get_project(project_id: str) -> Response:
    return jsonify(access.projects().get(project_id).to_json())


@bp.patch("/projects/<project_id>")
def patch_project(project_id: str) -> Response:
    body = _object()
    if body.get("id") not in (None, project_id):
        raise InvalidRequest("id: a project keeps its id")
    changes: dict[str, Any] = {}
    if body.get("name") is not None:
        changes["name"] = body["name"]
    if "quotas" in body:
        sent = check_quotas(body["quotas"] or {}, drop_nulls=False)
        old_quotas = access.projects().get(project_id).quotas
        changes["quotas"] = check_quotas({**old_quotas, **sent})
    before, after = access.projects().update(project_id, changes)
    detail = {"quotasBefore": before.quotas, "quotasAfter": after.quotas}
    access.audit(
        "project.update", project_id, project_id,
        before=before.version, after=after.version, detail=detail,
    )  # fmt: skip
    return jsonify(after.to_json())


@bp.delete("/projects/<project_id>")
def delete_project(project_id: str) -> Response:
    project = access.projects().get(project_id)  # 404 first
    if project_id == "default":
        raise InvalidRequest("the default project cannot be deleted")
    dispatcher = services.dispatcher()
    hooks = sorted(project_hook_ids(dispatcher.redis, project_id))
    cascade = request.args.get("cascade") == "true"
    if hooks and not cascade:
        return error_response(
            409, "conflict", f"project {project_id!r} has {len(hooks)} hooks; ?cascade=true"
        )
    for hook_id in hooks:
        try:
            dispatcher.hooks.delete(hook_id)
        except LookupError:
            continue  # deleted meanwhile
        access.audit("hook.delete", hook_id, project_id, detail={"cascade": True})
    revoked = access.tokens().revoke_project(project_id)
    access.projects().delete(project_id)
    detail = {"hooksDeleted": hooks, "tokensRevoked": revoked}
    access.audit("project.delete", project_id, project_id, before=project.version, detail=detail)
    return Response(status=204)
