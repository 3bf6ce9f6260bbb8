"""``hooklet dev FILE --hook ID``: the edit-save-see loop ``wrangler dev``
gives Cloudflare users, on recorded events instead of live ones.

Each save of FILE is checked (a syntax error is shown at its line and
column, and nothing is saved), saved as the hook's draft (the live hook with
FILE's script), tried on the hook's last recorded events with their tapes
(``POST /api/hooks/<id>/draft/try``: nothing leaves the sandbox), and
reported as a table of same / differs / diverged / failed with each
difference and the draft's log lines. ``hooklet draft promote ID`` makes it
live. The file is polled (its inode, size and mtime), so editors that save
by writing a new file and renaming it over the old one are seen too.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click

from app.cli.client import Client
from app.cli.dev_report import report, syntax_problem, syntax_report
from app.cli.drafts import live_definition

__all__ = ["dev"]

POLL_S = 0.3
_SETTLE_S = 0.05  # a file still being written changes again within this
_TRY_TIMEOUT_S = 600  # up to 500 runs, each within the hook's own timeout


@click.command("dev")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--hook", "hook_id", required=True, help="the hook whose draft FILE is")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 500),
    help="try each save on this many of the hook's latest recorded events",
)  # fmt: skip
@click.option("--once", is_flag=True, help="one round (check, save, try, report), then exit")
@click.pass_obj
def dev(client: Client, file: Path, hook_id: str, limit: int, once: bool) -> None:
    """Watch FILE: on every save, check its syntax, save it as the draft of
    the hook, try it on the hook's latest recorded events (their tapes answer
    every fetch, KV read, clock and random value: nothing leaves the sandbox)
    and show what changes. Ctrl-C stops; the draft stays saved.

    With --once: exit 0 when the draft was saved and tried, 1 when it was
    not (a syntax error, or an error from hooklet)."""
    client.ok(client.request("GET", f"/api/hooks/{hook_id}"))  # a wrong id stops here
    if once:
        source = _read(file)
        raise SystemExit(
            0 if source is not None and _round(client, file, hook_id, limit, source) else 1
        )
    try:
        _say(client, f"watching {file} as the draft of {hook_id} (tried on its last {limit} "
                     "events); Ctrl-C to stop")  # fmt: skip
        _watch(client, file, hook_id, limit)
    except KeyboardInterrupt:
        _say(client, f"stopped; the draft of {hook_id} stays saved: "
                     f"hooklet draft promote {hook_id} makes it live")  # fmt: skip
    raise SystemExit(0)


def _watch(client: Client, file: Path, hook_id: str, limit: int) -> None:
    """A round for the file as it is, then one for every save that changes it."""
    seen: tuple[int, int, int] | None = None
    last_source: str | None = None
    while True:
        signature = _signature(file)
        if signature is not None and signature != seen:
            time.sleep(_SETTLE_S)
            if _signature(file) != signature:
                continue  # still being written: read it once it is still
            seen = signature
            source = _read(file)
            if source is not None and source != last_source:
                last_source = source
                _guarded_round(client, file, hook_id, limit, source)
        time.sleep(POLL_S)


def _signature(file: Path) -> tuple[int, int, int] | None:
    """What changes with every save, in place or by rename (None: no file
    just now, e.g. between an editor's delete and its rename)."""
    try:
        stat = os.stat(file)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _read(file: Path) -> str | None:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        click.secho(f"cannot read {file}: {exc}", fg="red", err=True)
        return None


def _guarded_round(client: Client, file: Path, hook_id: str, limit: int, source: str) -> None:
    """A round whose failure (hooklet unreachable, a refused token) is said
    by the client and waits for the next save instead of ending the loop."""
    try:
        _round(client, file, hook_id, limit, source)
    except SystemExit:
        click.secho("waiting for the next save", fg="yellow", err=True)


def _round(client: Client, file: Path, hook_id: str, limit: int, source: str) -> bool:
    """Save and try one version of the script; True when it was saved and tried."""
    _say(client, click.style(f"\n[{time.strftime('%H:%M:%S')}] {file.name} changed", bold=True))
    definition = {**live_definition(client, hook_id), "script": source}
    saved = client.request("PUT", f"/api/hooks/{hook_id}/draft", json=definition)
    problem = _script_problem(saved)
    if problem is not None:
        found = syntax_problem(problem)
        if client.as_json:
            _json_line({"file": str(file), "saved": False, "syntaxError": {
                "message": found.message, "line": found.line, "column": found.column}})  # fmt: skip
        else:
            for line in syntax_report(str(file), source, found):
                click.echo(line)
        return False
    draft = client.ok(saved)
    base, etag = draft["baseVersion"], draft["etag"][:12]
    _say(client, f"saved as the draft over version {base} (etag {etag}); "
                 f"trying it on the last {limit} recorded events")  # fmt: skip
    tried = client.ok(
        client.request(
            "POST", f"/api/hooks/{hook_id}/draft/try",
            json={"filter": {}, "limit": limit}, timeout=_TRY_TIMEOUT_S,
        )
    )  # fmt: skip
    if client.as_json:
        _json_line({"file": str(file), "saved": True, "draft": tried["draft"],
                    "counts": tried["counts"], "jobs": tried["jobs"]})  # fmt: skip
        return True
    for line in report(tried):
        click.echo(line)
    click.echo(f"happy with it? hooklet draft promote {hook_id}")
    return True


def _script_problem(response: Any) -> str | None:
    """The 422's message when the script is what the API refused."""
    if response.status_code != 422:
        return None
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None
    message = error.get("message", "")
    refused_script = error.get("code") == "invalid_hook" and message.startswith("script:")
    return message if refused_script else None


def _say(client: Client, text: str) -> None:
    """A progress line: on the terminal, or on stderr when stdout is JSON."""
    click.echo(text, err=client.as_json)


def _json_line(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data))  # one line a round: a stream a script can read
