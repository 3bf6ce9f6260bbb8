"""A hook's KV from the API, as its script sees it (``secutils.kv``):
``GET /api/hooks/<id>/kv?prefix=&cursor=&limit=`` lists keys,
``GET|PUT|DELETE /api/hooks/<id>/kv/<key>`` reads, writes and deletes one.
Values are unpadded base64url, and writes go through the same store and
quotas as scripts' (``workers/store/kv/store.py``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from app import access, services
from app.access import protect, scope
from app.admin import json_body
from app.jobs_api import _limit
from workers.errors import HookletError, InvalidRequest, NotFound
from workers.store.kv.store import KvError, KvQuotas, KvStore

__all__ = ["bp"]

bp = protect(Blueprint("kv_api", __name__, url_prefix="/api"))


class KvRefused(HookletError):
    """The KV store refused the write (a quota, a key too long, bad base64url)."""

    code, status = "kv_refused", 422


def _store(hook_id: str) -> tuple[KvStore, str]:
    hook = access.hook(hook_id)  # 404 for another project's hook
    s = services.settings()
    quotas = KvQuotas(
        s.kv_max_key_bytes, s.kv_max_value_bytes, s.kv_max_entries, s.kv_max_total_bytes,
        s.kv_max_ttl_s,
    )  # fmt: skip
    return KvStore(services.dispatcher().redis, hook_id, quotas), hook.project


@bp.get("/hooks/<hook_id>/kv")
@scope("kv:read")
def list_keys(hook_id: str) -> Response:
    store, _ = _store(hook_id)
    limit = _limit(request.args.get("limit"), 100, 1000)
    opts: dict[str, Any] = {"prefix": request.args.get("prefix", ""), "limit": limit}
    if request.args.get("cursor"):
        opts["after"] = request.args["cursor"]
    found = store.list(opts, values=False)
    entries = [{"key": e["key"], "createdAt": e["createdAt"]} for e in found["entries"]]
    more = len(entries) == limit
    return jsonify({"entries": entries, "nextCursor": found["cursor"] if more else None})


def _entry(store: KvStore, key: str) -> dict[str, Any]:
    try:
        entry = store.get_entry(key)
    except KvError as exc:
        raise InvalidRequest(str(exc)) from None
    if entry["value"] is None:
        raise NotFound(f"no KV key {key!r}")
    return {"key": key, **entry}


@bp.get("/hooks/<hook_id>/kv/<path:key>")
@scope("kv:read")
def get_key(hook_id: str, key: str) -> Response:
    return jsonify(_entry(_store(hook_id)[0], key))


@bp.put("/hooks/<hook_id>/kv/<path:key>")
@scope("kv:write")
def put_key(hook_id: str, key: str) -> Response:
    """``{"value": "<base64url>", "ttlSec"?: n, "ifAbsent"?: bool}``."""
    store, project = _store(hook_id)
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("value"), str):
        raise InvalidRequest('send {"value": "<unpadded base64url>", "ttlSec"?: seconds}')
    ttl = body.get("ttlSec")
    if ttl is not None and (type(ttl) is not int or ttl < 1):
        raise InvalidRequest("ttlSec: whole seconds, at least 1")
    opts = {"ttlSec": ttl, "ifAbsent": body.get("ifAbsent") is True}
    try:
        store.set(key, body["value"], opts)
    except KvError as exc:
        raise KvRefused(str(exc)) from None
    access.audit("kv.set", f"{hook_id}/{key}", project)
    return jsonify(_entry(store, key))


@bp.delete("/hooks/<hook_id>/kv/<path:key>")
@scope("kv:write")
def delete_key(hook_id: str, key: str) -> Response:
    store, project = _store(hook_id)
    try:
        deleted = store.delete(key)
    except KvError as exc:
        raise InvalidRequest(str(exc)) from None
    if not deleted:
        raise NotFound(f"no KV key {key!r}")
    access.audit("kv.delete", f"{hook_id}/{key}", project)
    return Response(status=204)
