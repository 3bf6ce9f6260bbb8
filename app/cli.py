"""``hooklet``: the command line for operators and hook authors.

It talks to a running hooklet over HTTP (``--url``, ``HOOKLET_URL``) with the
admin token (``--token``, ``HOOKLET_ADMIN_TOKEN``, or ``.hooklet/admin-token``).
Tables in a terminal; ``--json`` for scripts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
import requests

__all__ = ["main"]

FINAL = ("succeeded", "failed")


class Client:
    def __init__(self, url: str, token: str | None, as_json: bool) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.as_json = as_json
        self.http = requests.Session()

    def request(self, method: str, path: str, *, admin: bool = True, **kwargs: Any):
        headers = kwargs.pop("headers", {})
        if admin and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(
                method, self.url + path, headers=headers, timeout=30, **kwargs
            )
        except requests.ConnectionError:
            fail(f"cannot reach hooklet at {self.url} (is it running? try scripts/run)")
        except requests.Timeout:
            fail(f"hooklet at {self.url} did not answer in time")
        if response.status_code == 401 and admin:
            fail("the admin token was refused: set HOOKLET_ADMIN_TOKEN or pass --token")
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


def _default_token() -> str | None:
    token = os.environ.get("HOOKLET_ADMIN_TOKEN")
    if token:
        return token
    path = Path(os.environ.get("HOOKLET_DATA_DIR", ".hooklet")) / "admin-token"
    return path.read_text().strip() if path.is_file() else None


@click.group()
@click.option(
    "--url",
    envvar="HOOKLET_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="hooklet's base URL",
)
@click.option("--token", default=None, help="admin token (default: HOOKLET_ADMIN_TOKEN)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
@click.pass_context
def main(ctx: click.Context, url: str, token: str | None, as_json: bool) -> None:
    """Manage hooks, send events and watch jobs and workers."""
    ctx.obj = Client(url, token or _default_token(), as_json)


@main.group()
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


def _wait(client: Client, job_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    show = sys.stderr.isatty() and not client.as_json
    with click.progressbar(
        length=int(timeout_s * 10),
        label=f"job {job_id[:8]}",
        file=sys.stderr if show else open(os.devnull, "w"),
    ) as bar:  # noqa: SIM115
        while True:
            job = client.ok(client.request("GET", f"/jobs/{job_id}", admin=False))
            if job["status"] in FINAL or time.monotonic() > deadline:
                return job
            time.sleep(0.1)
            bar.update(1)


def _show_job(job: dict) -> None:
    colour = {"succeeded": "green", "failed": "red"}.get(job["status"], "yellow")
    click.secho(f"job {job['jobId']}: {job['status']}", fg=colour, bold=True)
    for key in (
        "hookId",
        "scriptVersion",
        "reason",
        "attempts",
        "worker",
        "durationMs",
        "createdAt",
        "finishedAt",
    ):
        if job.get(key) is not None:
            click.echo(f"  {key + ':':<15} {job[key]}")
    if job.get("error"):
        click.echo("  error:\n    " + job["error"].replace("\n", "\n    "))
    result = job.get("result")
    if result:
        click.echo(f"  status code:    {result['statusCode']}")
        for name, value in result["headers"].items():
            click.echo(f"  {name}: {value}")
        click.echo(f"  body ({result['bodyEncoding']}): {result['body'][:2000]}")
    for line in job.get("logs", []):
        click.echo(f"  [{line['level']}] {line['message']}")
    if job.get("delivery"):
        click.echo(
            f"  callback: {job['delivery']['status']} "
            f"({len(job['delivery']['attempts'])} attempt(s))"
        )


@main.command()
@click.argument("hook_id")
@click.option("--data", "-d", default="", help="the body: text, or @file to read a file")
@click.option("--method", "-X", default="POST", show_default=True)
@click.option("--header", "-H", multiple=True, help="'Name: value', repeatable")
@click.option("--path", default="", help="sub-path after /h/<hook>")
@click.option("--wait", is_flag=True, help="wait for the job to end and show it")
@click.option("--timeout", default=60.0, show_default=True, help="seconds to wait")
@click.pass_obj
def send(
    client: Client,
    hook_id: str,
    data: str,
    method: str,
    header: tuple[str, ...],
    path: str,
    wait: bool,
    timeout: float,
) -> None:
    """Send an event to HOOK, as a webhook sender would."""
    body = Path(data[1:]).read_bytes() if data.startswith("@") else data.encode()
    headers = dict(h.split(":", 1) for h in header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    suffix = f"/{path.lstrip('/')}" if path else ""
    response = client.request(
        method, f"/h/{hook_id}{suffix}", admin=False, data=body, headers=headers
    )
    if response.status_code >= 400:
        client.ok(response)
    if response.headers.get("X-Hooklet-Job"):  # a sync hook answered
        result = {
            "statusCode": response.status_code,
            "headers": dict(response.headers),
            "body": response.text,
            "jobId": response.headers["X-Hooklet-Job"],
        }
        emit(client, result, lambda r: click.echo(f"{r['statusCode']}\n{r['body']}"))
        return
    accepted = response.json()
    if not wait:
        emit(
            client, accepted, lambda a: click.echo(f"accepted: job {a['jobId']} ({a['statusUrl']})")
        )
        return
    emit(client, _wait(client, accepted["jobId"], timeout), _show_job)


@main.group()
def jobs() -> None:
    """Look at jobs."""


@jobs.command("get")
@click.argument("job_id")
@click.option("--wait", is_flag=True, help="wait until the job ends")
@click.option("--timeout", default=60.0, show_default=True)
@click.pass_obj
def jobs_get(client: Client, job_id: str, wait: bool, timeout: float) -> None:
    if wait:
        job = _wait(client, job_id, timeout)
    else:
        job = client.ok(client.request("GET", f"/jobs/{job_id}", admin=False))
    emit(client, job, _show_job)


@main.command()
@click.pass_obj
def workers(client: Client) -> None:
    """Worker nodes, their children, load and memory, and queue depths."""
    data = client.ok(client.request("GET", "/api/workers"))

    def render(d: dict) -> None:
        rows = []
        for node in d["nodes"]:
            reported = [c for c in node["children"] if c["rssBytes"]]
            rows.append(
                {
                    "node": node["name"],
                    "children": len(node["children"]),
                    "busy": f"{node['active']}/{node['concurrency']}",
                    "processed": node["processed"],
                    "child rss (MB)": ", ".join(f"{c['rssBytes'] / 2**20:.0f}" for c in reported)
                    or "-",
                    "warm isolates": ", ".join(str(c["warmIsolates"]) for c in reported) or "-",
                }
            )
        table(rows, ["node", "children", "busy", "processed", "child rss (MB)", "warm isolates"])
        click.echo()
        table([{"queue": q, "waiting": n} for q, n in d["queues"].items()], ["queue", "waiting"])
        click.echo(f"\njobs running: {d['jobsRunning']}")

    emit(client, data, render)


if __name__ == "__main__":
    main()
