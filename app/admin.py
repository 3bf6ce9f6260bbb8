"""The admin API: ``/api/hooks`` and friends, behind the admin token."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, jsonify, request

from app import services
from app.auth import protect
from app.errors import error_response
from app.responses import accepted
from workers.errors import InvalidHook, InvalidRequest
from workers.hook_validation import validate_hook

__all__ = ["bp"]

bp = protect(Blueprint("admin", __name__, url_prefix="/api"))


# Deeper JSON is refused (400) before anything recurses over it: Python's
# json module and orjson's encoder (254 levels) would fail on it with a 500.
MAX_JSON_DEPTH = 64


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
def list_hooks() -> Response:
    hooks = services.dispatcher().hooks.list()
    return jsonify({"hooks": [h.to_json() for h in hooks]})


@bp.post("/hooks")
def create_hook() -> Response:
    data = json_body()
    hook_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(hook_id, str):
        raise InvalidHook("id", "is required")
    store = services.dispatcher().hooks
    try:
        store.get(hook_id)
    except LookupError:
        pass
    else:
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
def get_hook(hook_id: str) -> Response:
    return jsonify(services.dispatcher().hooks.get(hook_id).to_json())


@bp.put("/hooks/<hook_id>")
def put_hook(hook_id: str) -> Response:
    data = json_body()
    if request.args.get("keepSecrets") == "true" and isinstance(data, dict):
        data = _with_stored_secrets(hook_id, data)
    hook = validate_hook(hook_id, data, services.settings(), services.syntax_checker())
    stored, created = services.dispatcher().hooks.put(hook)
    body = stored.to_json()
    if created:
        body["callbackSecret"] = stored.callback_secret  # shown once
    response = jsonify(body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/hooks/{stored.id}"
    return response


@bp.delete("/hooks/<hook_id>")
def delete_hook(hook_id: str) -> Response:
    services.dispatcher().hooks.delete(hook_id)
    return Response(status=204)


@bp.post("/hooks/<hook_id>/rotate-secret")
def rotate_secret(hook_id: str) -> Response:
    """A new callback signing secret, shown once; the old one stops working."""
    return jsonify({"callbackSecret": services.dispatcher().hooks.rotate_secret(hook_id)})


@bp.post("/jobs/<job_id>/replay")
def replay_job(job_id: str) -> Response:
    return accepted(services.dispatcher().replay(job_id))


@bp.post("/jobs/<job_id>/redeliver")
def redeliver_job(job_id: str) -> Response:
    services.dispatcher().redeliver(job_id)
    response = jsonify({"jobId": job_id, "delivery": "queued", "statusUrl": f"/jobs/{job_id}"})
    response.status_code = 202
    return response
