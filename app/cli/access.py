"""``hooklet projects``, ``hooklet tokens`` and ``hooklet kv``: projects and
their quotas (the admin token), scoped tokens, and a hook's KV."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

import click

from app.cli.client import Client, emit, fail, table

__all__ = ["projects", "tokens", "kv"]

_SCOPES = (
    "hooks:read", "hooks:write", "jobs:read", "jobs:write",
    "kv:read", "kv:write", "stats:read", "tokens:write",
)  # fmt: skip


def _quotas(pairs: tuple[str, ...]) -> dict[str, int | None]:
    """``maxHooks=10`` (``maxHooks=`` drops the quota)."""
    quotas: dict[str, int | None] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or (value and not value.isdigit()):
            fail(f"--quota {pair!r}: NAME=NUMBER, e.g. maxHooks=10")
        quotas[name] = int(value) if value else None
    return quotas


def _project_row(p: dict[str, Any]) -> dict[str, Any]:
    quotas = ", ".join(f"{k}={v}" for k, v in p["quotas"].items()) or "-"
    return {**p, "quotas": quotas}


@click.group()
def projects() -> None:
    """Projects: who owns which hooks, with quotas (the admin token)."""


@projects.command("list")
@click.pass_obj
def projects_list(client: Client) -> None:
    data = client.ok(client.request("GET", "/api/projects"))
    emit(client, data, lambda d: table([_project_row(p) for p in d["projects"]],
                                       ["id", "name", "quotas", "version"]))  # fmt: skip


@projects.command("get")
@click.argument("project_id")
@click.pass_obj
def projects_get(client: Client, project_id: str) -> None:
    data = client.ok(client.request("GET", f"/api/projects/{quote(project_id, safe='')}"))
    emit(client, data, lambda p: table([_project_row(p)], ["id", "name", "quotas", "version"]))


@projects.command("create")
@click.argument("project_id")
@click.option("--name", help="a readable name (default: the id)")
@click.option("--quota", "quota", multiple=True, help="NAME=NUMBER, e.g. maxHooks=10")
@click.pass_obj
def projects_create(client: Client, project_id: str, name: str | None, quota: tuple) -> None:
    body: dict[str, Any] = {"id": project_id, "quotas": _quotas(quota)}
    if name:
        body["name"] = name
    data = client.ok(client.request("POST", "/api/projects", json=body))
    emit(client, data, lambda p: click.echo(f"created project {p['id']}"))


@projects.command("update")
@click.argument("project_id")
@click.option("--name", help="a new name")
@click.option("--quota", "quota", multiple=True, help="NAME=NUMBER; NAME= drops it")
@click.pass_obj
def projects_update(client: Client, project_id: str, name: str | None, quota: tuple) -> None:
    body: dict[str, Any] = {}
    if name:
        body["name"] = name
    if quota:
        body["quotas"] = _quotas(quota)
    path = f"/api/projects/{quote(project_id, safe='')}"
    data = client.ok(client.request("PATCH", path, json=body))
    emit(client, data, lambda p: click.echo(f"saved project {p['id']} (version {p['version']})"))


@projects.command("rm")
@click.argument("project_id")
@click.option("--cascade", is_flag=True, help="delete its hooks too, and revoke its tokens")
@click.pass_obj
def projects_rm(client: Client, project_id: str, cascade: bool) -> None:
    path = f"/api/projects/{quote(project_id, safe='')}" + ("?cascade=true" if cascade else "")
    client.ok(client.request("DELETE", path))
    emit(client, {"deleted": project_id}, lambda d: click.echo(f"deleted project {project_id}"))


@click.group()
def tokens() -> None:
    """Tokens with scopes, for a project (needs tokens:write)."""


@tokens.command("create")
@click.option("--project", help="the project (a project token: its own)")
@click.option("--name", required=True, help="what the token is for, e.g. ci")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(_SCOPES))
@click.option("--expires-in", "expires_in_s", type=int, help="seconds until it expires")
@click.pass_obj
def tokens_create(
    client: Client, project: str | None, name: str, scopes: tuple, expires_in_s: int | None
) -> None:
    """Mint a token; it is shown this once."""
    body: dict[str, Any] = {"name": name, "scopes": list(scopes)}
    if project:
        body["project"] = project
    if expires_in_s:
        body["expiresInS"] = expires_in_s
    data = client.ok(client.request("POST", "/api/tokens", json=body))

    def render(t: dict) -> None:
        click.echo(f"token {t['id']} for project {t['project']} ({' '.join(t['scopes'])})")
        click.echo(f"shown once: {t['token']}")

    emit(client, data, render)


@tokens.command("list")
@click.option("--project", help="only this project's (the admin token)")
@click.pass_obj
def tokens_list(client: Client, project: str | None) -> None:
    data = client.ok(client.request("GET", "/api/tokens", params={"project": project or ""}))
    columns = ["id", "name", "project", "scopes", "expiresAt", "lastUsedAt"]
    rows = [{**t, "scopes": " ".join(t["scopes"])} for t in data["tokens"]] if data else []
    emit(client, data, lambda d: table(rows, columns))


@tokens.command("revoke")
@click.argument("token_id")
@click.pass_obj
def tokens_revoke(client: Client, token_id: str) -> None:
    client.ok(client.request("DELETE", f"/api/tokens/{quote(token_id, safe='')}"))
    emit(client, {"revoked": token_id}, lambda d: click.echo(f"revoked token {token_id}"))


def _kv_path(hook_id: str, key: str = "") -> str:
    path = f"/api/hooks/{quote(hook_id, safe='')}/kv"
    return path + ("/" + quote(key, safe="") if key else "")


@click.group()
def kv() -> None:
    """A hook's KV, as its script sees it (kv:read, kv:write)."""


@kv.command("list")
@click.argument("hook_id")
@click.option("--prefix", default="")
@click.option("--cursor", default="", help="the nextCursor of an earlier page")
@click.pass_obj
def kv_list(client: Client, hook_id: str, prefix: str, cursor: str) -> None:
    params = {"prefix": prefix, "cursor": cursor}
    data = client.ok(client.request("GET", _kv_path(hook_id), params=params))

    def render(d: dict) -> None:
        table(d["entries"], ["key", "createdAt"])
        if d["nextCursor"]:
            click.echo(f"more: --cursor {d['nextCursor']}")

    emit(client, data, render)


@kv.command("get")
@click.argument("hook_id")
@click.argument("key")
@click.option("--base64", "as_b64", is_flag=True, help="print the value as base64url")
@click.pass_obj
def kv_get(client: Client, hook_id: str, key: str, as_b64: bool) -> None:
    data = client.ok(client.request("GET", _kv_path(hook_id, key)))

    def render(d: dict) -> None:
        raw = base64.urlsafe_b64decode(d["value"] + "=" * (-len(d["value"]) % 4))
        click.echo(d["value"] if as_b64 else raw.decode("utf-8", "replace"))

    emit(client, data, render)


@kv.command("put")
@click.argument("hook_id")
@click.argument("key")
@click.argument("value")
@click.option("--base64", "is_b64", is_flag=True, help="VALUE is already base64url")
@click.option("--ttl", "ttl_s", type=int, help="seconds the entry lives")
@click.pass_obj
def kv_put(
    client: Client, hook_id: str, key: str, value: str, is_b64: bool, ttl_s: int | None
) -> None:
    if is_b64:
        try:
            base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            fail("VALUE is not base64url")
        encoded = value
    else:
        encoded = base64.urlsafe_b64encode(value.encode()).rstrip(b"=").decode()
    body: dict[str, Any] = {"value": encoded}
    if ttl_s:
        body["ttlSec"] = ttl_s
    data = client.ok(client.request("PUT", _kv_path(hook_id, key), json=body))
    emit(client, data, lambda d: click.echo(f"saved {key}"))


@kv.command("rm")
@click.argument("hook_id")
@click.argument("key")
@click.pass_obj
def kv_rm(client: Client, hook_id: str, key: str) -> None:
    client.ok(client.request("DELETE", _kv_path(hook_id, key)))
    emit(client, {"deleted": key}, lambda d: click.echo(f"deleted {key}"))
