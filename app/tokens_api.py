"""``/api/tokens``: API tokens with scopes (``tokens:write``).

The token itself is answered once, by ``POST``; only its SHA-256 is kept. A
project token mints tokens for its own project with at most its own scopes;
the admin token for any project. A revoked token is refused by every web
process at its next request (each request reads the token's record).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app import access
from app.access import protect, scope
from app.admin import json_body
from workers.errors import Forbidden, InvalidRequest, NotFound
from workers.store.access.tokens import SCOPES

__all__ = ["bp"]

bp = protect(Blueprint("tokens_api", __name__, url_prefix="/api"))
_MAX_EXPIRY_S = 10 * 365 * 24 * 3600


def _scopes(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise InvalidRequest(f"scopes: a non-empty list of {', '.join(SCOPES)}")
    unknown = sorted(set(value) - set(SCOPES))
    if unknown:
        raise InvalidRequest(f"scopes: unknown {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in value)


def _project(value: object) -> str:
    """The project to mint for: the caller's own (a project token), any
    existing one (the admin); another is answered as missing."""
    who = access.principal()
    if value is None and who.project is not None:
        return who.project
    if not isinstance(value, str):
        raise InvalidRequest("project: a project id")
    if not who.sees(value) or not access.projects().exists(value):
        raise NotFound(f"no project {value!r}")
    return value


@bp.post("/tokens")
@scope("tokens:write")
def create_token() -> Response:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidRequest('send an object: {"project", "name", "scopes", "expiresInS"}')
    unknown = sorted(set(body) - {"project", "name", "scopes", "expiresInS"})
    if unknown:
        raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}")
    project = _project(body.get("project"))
    name = body.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        raise InvalidRequest("name: 1-200 characters")
    scopes = _scopes(body.get("scopes"))
    who = access.principal()
    beyond = [s for s in scopes if not who.can(s)]
    if beyond:
        raise Forbidden(f"this token lacks the scope {beyond[0]}", scope=beyond[0])
    expires = body.get("expiresInS")
    if expires is not None and (type(expires) is not int or not 0 < expires <= _MAX_EXPIRY_S):
        raise InvalidRequest(f"expiresInS: whole seconds, 1 to {_MAX_EXPIRY_S}")
    record, token = access.tokens().mint(project, name, scopes, expires, who.token_id)
    detail = {"name": name, "scopes": list(scopes)}
    access.audit("token.create", record.id, project, detail=detail)
    response = jsonify({**record.to_json(), "token": token})
    response.status_code = 201
    return response


@bp.get("/tokens")
@scope("tokens:write")
def list_tokens() -> Response:
    """The caller's project's tokens (the admin: all, or ``?project=``), never the token."""
    who = access.principal()
    wanted = request.args.get("project") or None
    if wanted is not None and not who.sees(wanted):
        raise NotFound(f"no project {wanted!r}")
    project = who.project or wanted
    return jsonify({"tokens": [r.to_json() for r in access.tokens().list(project)]})


@bp.delete("/tokens/<token_id>")
@scope("tokens:write")
def revoke_token(token_id: str) -> Response:
    record = access.tokens().get(token_id)
    if record is None or not access.principal().sees(record.project):
        raise NotFound(f"no token {token_id!r}")
    access.tokens().revoke(token_id)
    access.audit("token.revoke", token_id, record.project, detail={"name": record.name})
    return Response(status=204)
