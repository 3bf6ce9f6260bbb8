"""The CLI's HTTP client and its output: tables in a terminal, JSON for scripts."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import requests

__all__ = ["Client", "fail", "table", "emit", "default_token"]


class Client:
    def __init__(self, url: str, token: str | None, as_json: bool) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.as_json = as_json
        self.http = requests.Session()

    def request(self, method: str, path: str, *, admin: bool = True, **kwargs: Any):
        headers = kwargs.pop("headers", {})
        timeout = kwargs.pop("timeout", 30)
        if admin and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(
                method, self.url + path, headers=headers, timeout=timeout, **kwargs
            )
        except requests.ConnectionError:
            fail(f"cannot reach hooklet at {self.url} (is it running? try scripts/run)")
        except requests.Timeout:
            fail(f"hooklet at {self.url} did not answer in time")
        if response.status_code == 401 and admin:
            fail(
                "the token was refused (wrong, revoked or expired): set HOOKLET_TOKEN "
                "or HOOKLET_ADMIN_TOKEN, or pass --token"
            )
        return response

    def ok(self, response: requests.Response) -> Any:
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                fail(f"{response.status_code} {error['code']}: {error['message']}")
            except (ValueError, KeyError, TypeError):
                fail(f"{response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None


def fail(message: str) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.secho(
        "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)), bold=True
    )
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def emit(client: Client, data: Any, render) -> None:  # noqa: ANN001
    if client.as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        render(data)


def default_token() -> str | None:
    """``HOOKLET_TOKEN`` (a project token, or any), else the admin token."""
    token = os.environ.get("HOOKLET_TOKEN") or os.environ.get("HOOKLET_ADMIN_TOKEN")
    if token:
        return token
    path = Path(os.environ.get("HOOKLET_DATA_DIR", ".hooklet")) / "admin-token"
    return path.read_text().strip() if path.is_file() else None
