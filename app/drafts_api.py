"""Drafts, promote and rollback: ``/api/hooks/<id>/draft[/promote]`` and
``/api/hooks/<id>/rollback`` (``hooks:read`` to read a draft, ``hooks:write``
for the rest); every change is audited.

A draft is saved but never served: live events keep running the live
version until the draft is promoted, which makes it the live hook as a new
version in one transaction (``workers/store/drafts.py``). A rollback brings
back an earlier version's script and settings as a new version number
(``workers/store/hook_switch.py``); versions never repeat.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from app import access, services
from app.access import protect, scope
from app.admin import json_body
from workers.errors import InvalidHook, InvalidRequest
from workers.hook_validation import validate_hook
from workers.store.drafts import DraftStore
from workers.store.hook_switch import rollback
from workers.store.hooks import Hook

__all__ = ["bp"]

bp = protect(Blueprint("drafts", __name__, url_prefix="/api"))


def _drafts() -> DraftStore:
    return DraftStore(services.dispatcher().redis)


@bp.get("/hooks/<hook_id>/draft")
@scope("hooks:read")
def get_draft(hook_id: str) -> Response:
    access.hook(hook_id)  # another project's: 404
    draft, live = _drafts().get(hook_id)
    return jsonify(draft.to_json(live))


@bp.put("/hooks/<hook_id>/draft")
@scope("hooks:write")
def put_draft(hook_id: str) -> Response:
    """A whole definition, as ``PUT /api/hooks/<id>`` takes; ``secrets`` and
    ``verify`` left out mean the live hook's (a ``verify`` without its
    ``secret`` keeps the live secret)."""
    live = access.hook(hook_id)
    data = json_body()
    if not isinstance(data, dict):
        raise InvalidHook("body", "must be a JSON object")
    data = {**data}
    project = data.pop("project", None)
    if project not in (None, live.project):
        raise InvalidHook("project", "a hook cannot move to another project")
    verify = data.get("verify")
    if isinstance(verify, dict) and "secret" not in verify and live.verify:
        data["verify"] = {**verify, "secret": live.verify.get("secret")}
    hook = validate_hook(hook_id, data, services.settings(), services.syntax_checker())
    draft, live, created = _drafts().put(
        hook, secrets_set="secrets" in data, verify_set="verify" in data
    )
    detail: dict[str, Any] = {"baseVersion": draft.base, "etag": draft.etag}
    if draft.secrets_set:
        detail["secretNames"] = sorted(draft.hook.secrets)  # names only, never a value
    access.audit("draft.put", hook_id, live.project, before=live.version, detail=detail)
    response = jsonify(draft.to_json(live))
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/hooks/{hook_id}/draft"
    return response


@bp.delete("/hooks/<hook_id>/draft")
@scope("hooks:write")
def delete_draft(hook_id: str) -> Response:
    access.hook(hook_id)
    draft, live = _drafts().delete(hook_id)
    detail = {"baseVersion": draft.base, "etag": draft.etag}
    access.audit("draft.delete", hook_id, live.project, before=live.version, detail=detail)
    return Response(status=204)


@bp.post("/hooks/<hook_id>/draft/promote")
@scope("hooks:write")
def promote_draft(hook_id: str) -> Response:
    """The draft becomes the live hook as a new version; ``{"etag": ...}``
    promotes only that draft (409 ``draft_changed`` if it was saved again)."""
    access.hook(hook_id)
    etag = _optional_body().get("etag")
    if etag is not None and not isinstance(etag, str):
        raise InvalidRequest("etag must be a string (a draft's etag)")
    before, after, draft = _drafts().promote(hook_id, etag)
    detail = {"baseVersion": draft.base, "etag": draft.etag}
    access.audit(
        "draft.promote", hook_id, after.project, before=before.version, after=after.version,
        detail=detail,
    )  # fmt: skip
    _audit_secrets(before, after, sorted(draft.hook.secrets) if draft.secrets_set else [])
    return _live(after)


@bp.post("/hooks/<hook_id>/rollback")
@scope("hooks:write")
def rollback_hook(hook_id: str) -> Response:
    """An earlier version (``{"version": N}``; default the one before the
    live one) comes back as a new version."""
    access.hook(hook_id)
    to = _optional_body().get("version")
    if to is not None and (not isinstance(to, int) or isinstance(to, bool)):
        raise InvalidRequest("version must be an integer (an earlier version of the hook)")
    before, after, restored = rollback(services.dispatcher().redis, hook_id, to)
    access.audit(
        "hook.rollback", hook_id, after.project, before=before.version, after=after.version,
        detail={"restored": restored},
    )  # fmt: skip
    return _live(after, restoredVersion=restored)


def _optional_body() -> dict[str, Any]:
    """The JSON object sent, or {} when nothing was sent."""
    if not request.get_data():
        return {}
    data = json_body()
    if not isinstance(data, dict):
        raise InvalidRequest("send a JSON object, or no body")
    return data


def _audit_secrets(before: Hook, after: Hook, set_names: list[str]) -> None:
    removed = sorted(set(before.secrets) - set(after.secrets))
    for action, names in (("secrets.set", set_names), ("secrets.remove", removed)):
        if names:  # names only, never a value
            access.audit(
                action, after.id, after.project, after=after.version, detail={"names": names}
            )


def _live(hook: Hook, **extra: Any) -> Response:
    response = jsonify({**hook.to_json(), **extra})
    response.headers["Location"] = f"/api/hooks/{hook.id}"
    return response
