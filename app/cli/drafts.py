"""``hooklet draft get|put|rm|promote|rollback ID`` (``hooks rollback ID``
too): a hook's next definition, saved without serving it, made live, or
undone. ``hooklet dev`` (``cli/dev.py``) saves drafts as a file changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from app.cli.client import Client, emit, fail

__all__ = ["draft", "hooks_rollback", "live_definition"]

# What ``GET /api/hooks/<id>`` shows that is no part of a definition one writes.
_READ_ONLY = ("version", "createdAt", "updatedAt", "secretNames", "project")


@click.group()
def draft() -> None:
    """A hook's draft: saved, not served, until promoted."""


def _show(data: dict) -> None:
    script = data.pop("script", None)
    for key, value in data.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else value
        click.echo(f"{key + ':':<18} {shown}")
    if script:
        click.secho("script:", bold=True)
        click.echo(script)


@draft.command("get")
@click.argument("hook_id")
@click.pass_obj
def draft_get(client: Client, hook_id: str) -> None:
    """Show the draft of HOOK_ID (its etag, the version it was saved over)."""
    emit(client, client.ok(client.request("GET", f"/api/hooks/{hook_id}/draft")), _show)


def live_definition(client: Client, hook_id: str) -> dict[str, Any]:
    """The live hook as a definition (credentials are left out: the draft
    then takes the live ones)."""
    hook = client.ok(client.request("GET", f"/api/hooks/{hook_id}"))
    data = {k: v for k, v in hook.items() if k not in _READ_ONLY}
    data["limits"] = {k: v for k, v in data.get("limits", {}).items() if v is not None}
    data.pop("verify", None)  # shown without its secret: left out, the draft keeps the live one
    return data


@draft.command("put")
@click.argument("hook_id")
@click.argument("file", type=click.File("rb"), required=False)
@click.option(
    "--script", "script", type=click.File("r"),
    help="a script file: the draft is the live hook (or FILE) with this script",
)  # fmt: skip
@click.pass_obj
def draft_put(client: Client, hook_id: str, file, script) -> None:  # noqa: ANN001
    """Save a draft of HOOK_ID from a JSON FILE (a whole definition, as
    ``hooks put`` takes), or the live hook with ``--script``'s script."""
    if file is None and script is None:
        fail("give a JSON FILE, --script SCRIPT_FILE, or both")
    if file is not None:
        try:
            definition = json.loads(file.read())
        except ValueError as exc:
            fail(f"{file.name} is not valid JSON: {exc}")
        if not isinstance(definition, dict):
            fail(f"{file.name} does not hold a JSON object")
    else:
        definition = live_definition(client, hook_id)
    if script is not None:
        definition["script"] = script.read()
    response = client.request("PUT", f"/api/hooks/{hook_id}/draft", json=definition)
    data = client.ok(response)
    source = Path(file.name).name if file is not None else "the live hook"
    emit(client, data, lambda d: click.echo(
        f"saved the draft of {hook_id} from {source} (over version {d['baseVersion']}, "
        f"etag {d['etag']}); promote it with: hooklet draft promote {hook_id}"
    ))  # fmt: skip


@draft.command("rm")
@click.argument("hook_id")
@click.pass_obj
def draft_rm(client: Client, hook_id: str) -> None:
    """Throw the draft of HOOK_ID away."""
    client.ok(client.request("DELETE", f"/api/hooks/{hook_id}/draft"))
    emit(client, {"deleted": hook_id}, lambda d: click.echo(f"deleted the draft of {hook_id}"))


@draft.command("promote")
@click.argument("hook_id")
@click.option("--etag", help="promote only this draft (as `draft get` showed it)")
@click.pass_obj
def draft_promote(client: Client, hook_id: str, etag: str | None) -> None:
    """Make the draft of HOOK_ID live, as a new version."""
    body = {"etag": etag} if etag else None
    hook = client.ok(client.request("POST", f"/api/hooks/{hook_id}/draft/promote", json=body))
    said = f"promoted the draft: {hook_id} is now version {hook['version']}"
    emit(client, hook, lambda h: click.echo(said))


@click.command("rollback")
@click.argument("hook_id")
@click.option("--to", "version", type=int, help="the earlier version to bring back")
@click.pass_obj
def hooks_rollback(client: Client, hook_id: str, version: int | None) -> None:
    """Bring back HOOK_ID's previous version (or --to's) as a new version."""
    body = {"version": version} if version is not None else None
    hook = client.ok(client.request("POST", f"/api/hooks/{hook_id}/rollback", json=body))
    emit(client, hook, lambda h: click.echo(
        f"rolled back: {hook_id} is now version {h['version']} "
        f"(version {h['restoredVersion']} brought back)"
    ))  # fmt: skip


draft.add_command(hooks_rollback)  # ``hooklet draft rollback ID``: where promote is
