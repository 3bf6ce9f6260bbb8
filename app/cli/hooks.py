"""``hooklet hooks``: list, show, create or replace, and remove hooks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.cli.client import Client, emit, fail, table

__all__ = ["hooks"]


@click.group()
def hooks() -> None:
    """List, show, create or replace, and remove hooks."""


@hooks.command("list")
@click.pass_obj
def hooks_list(client: Client) -> None:
    data = client.ok(client.request("GET", "/api/hooks"))

    def render(d: dict) -> None:
        table(
            [
                {
                    **h,
                    "methods": ",".join(h["methods"]) or "any",
                    "timeoutMs": h["limits"]["timeoutMs"],
                    "callback": h["callbackUrl"],
                }
                for h in d["hooks"]
            ],
            ["id", "mode", "version", "enabled", "methods", "timeoutMs", "callback"],
        )

    emit(client, data, render)


@hooks.command("get")
@click.argument("hook_id")
@click.pass_obj
def hooks_get(client: Client, hook_id: str) -> None:
    data = client.ok(client.request("GET", f"/api/hooks/{hook_id}"))

    def render(hook: dict) -> None:
        script = hook.pop("script", None)
        for key, value in hook.items():
            click.echo(
                f"{key + ':':<18} {json.dumps(value) if isinstance(value, dict | list) else value}"
            )
        if script:
            click.secho("script:", bold=True)
            click.echo(script)

    emit(client, data, render)


@hooks.command("put")
@click.argument("file", type=click.File("rb"))
@click.option("--id", "hook_id", help='hook id (default: the file\'s "id", else its name)')
@click.pass_obj
def hooks_put(client: Client, file, hook_id: str | None) -> None:  # noqa: ANN001
    """Create or replace a hook from a JSON FILE (as in config/hooks/)."""
    try:
        definition = json.loads(file.read())
    except ValueError as exc:
        fail(f"{file.name} is not valid JSON: {exc}")
    hook_id = hook_id or definition.get("id") or Path(file.name).stem
    response = client.request("PUT", f"/api/hooks/{hook_id}", json=definition)
    data = client.ok(response)

    def render(hook: dict) -> None:
        verb = "created" if response.status_code == 201 else "saved"
        click.echo(f"{verb} hook {hook['id']} (version {hook['version']})")
        if hook.get("callbackSecret"):
            click.echo(f"callback signing secret (shown once): {hook['callbackSecret']}")

    emit(client, data, render)


@hooks.command("rm")
@click.argument("hook_id")
@click.pass_obj
def hooks_rm(client: Client, hook_id: str) -> None:
    client.ok(client.request("DELETE", f"/api/hooks/{hook_id}"))
    emit(client, {"deleted": hook_id}, lambda d: click.echo(f"deleted hook {hook_id}"))
