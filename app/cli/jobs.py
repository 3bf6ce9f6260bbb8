"""``hooklet send`` and ``hooklet jobs``: send events and watch their jobs."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

import click
import requests

from app.cli.client import Client, emit, table
from workers.store.jobs.records import JobStatus

__all__ = ["jobs", "send", "blocked_keys"]

_COLOURS = {JobStatus.SUCCEEDED: "green", JobStatus.FAILED: "red"}


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
            if JobStatus(job["status"]).is_final or time.monotonic() > deadline:
                return job
            time.sleep(0.1)
            bar.update(1)


def _show_job(job: dict) -> None:
    colour = _COLOURS.get(JobStatus(job["status"]), "yellow")
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


def _accepted(response: requests.Response) -> bool:
    """Whether the intake took the event in without a script's answer (202, or
    200 for a retried event): its JSON names the job and Location is the
    job's status URL. Anything else is a sync hook's answer."""
    location = response.headers.get("Location", "")
    if response.status_code not in (200, 202) or not location.startswith("/jobs/"):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("statusUrl") == location and "jobId" in body


@click.command()
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
    if not _accepted(response):  # a sync hook answered
        result = {
            "statusCode": response.status_code,
            "headers": dict(response.headers),
            "body": response.text,
            # Only hooks with "debugHeaders": true name the job.
            "jobId": response.headers.get("X-Hooklet-Job"),
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


@click.group()
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


def blocked_keys(client: Client, hook_id: str | None) -> None:
    """``jobs list --blocked``: ordered hooks' keys held by a failed event."""
    if hook_id:
        hook_ids = [hook_id]
    else:  # any hook with blocked keys, though it may have dropped its ordering since
        listed = client.ok(client.request("GET", "/api/keys?blocked=true"))["hooks"]
        hook_ids = [h["hookId"] for h in listed]
    rows = []
    for each in hook_ids:
        cursor: str | None = ""
        while cursor is not None:  # every page
            path = f"/api/hooks/{each}/keys?blocked=true&cursor={quote(cursor, safe='')}"
            found = client.ok(client.request("GET", path))
            rows += [{"hookId": each, **k} for k in found["keys"]]
            cursor = found.get("nextCursor")

    def render(d: dict) -> None:
        shown = [{**k, "since": _utc(k["since"])} for k in d["keys"]]  # --json keeps epoch s
        table(shown, ["hookId", "key", "blockedBy", "waiting", "since"])

    emit(client, {"keys": rows}, render)


def _utc(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


@jobs.command("resume")
@click.argument("hook_id")
@click.argument("key")
@click.option("--skip", is_flag=True, help="go on without the failed event")
@click.pass_obj
def jobs_resume(client: Client, hook_id: str, key: str, skip: bool) -> None:
    """Let a blocked KEY of an ordered HOOK go on: its failed event runs again
    first, or (--skip) the next one runs."""
    path = f"/api/hooks/{hook_id}/keys/{quote(key, safe='')}/resume"
    data = client.ok(client.request("POST", path, json={"skip": skip}))

    def render(d: dict) -> None:
        then = d.get("rerunJobId") or d.get("nextJobId") or "nothing waits"
        click.echo(f"key {d['key']!r} resumed ({'skipped' if d['skipped'] else 'rerun'}): {then}")

    emit(client, data, render)
