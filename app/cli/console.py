"""``hooklet jobs list``, ``hooklet jobs replay``, ``hooklet jobs redeliver``
and ``hooklet stats``: the console's searches, bulk actions and charts in a
terminal, over the same API calls (``/api/jobs``, ``/api/jobs/replay``,
``/api/stats``)."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from app.cli.client import Client, emit, fail, table
from app.cli.jobs import blocked_keys

__all__ = ["register"]

_FILTERS = ("hook", "status", "reason", "delivery", "since", "until")


def _filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--hook", help="only this hook's jobs"),
        click.option("--status", type=click.Choice(["queued", "running", "succeeded", "failed"])),
        click.option(
            "--reason",
            type=click.Choice(["error", "timeout", "memory", "crashed", "output", "hook_gone"]),
        ),
        click.option("--delivery", type=click.Choice(["pending", "succeeded", "failed"])),
        click.option("--since", help="e.g. 1h, 30m, 2d, epoch seconds or ISO 8601"),
        click.option("--until", help="as --since"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _chosen(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in _FILTERS and v}


def register(main: click.Group, jobs: click.Group) -> None:
    """Add the commands to the CLI's ``main`` and ``jobs`` groups."""

    @jobs.command("list")
    @_filter_options
    @click.option("--limit", default=50, show_default=True)
    @click.option("--blocked", is_flag=True, help="ordered hooks' blocked keys instead")
    @click.pass_obj
    def jobs_list(client: Client, limit: int, blocked: bool, **options: Any) -> None:
        """Search jobs across hooks, newest first (dead letters: --status failed)."""
        if blocked:
            blocked_keys(client, options.get("hook"))
            return
        params = {**_chosen(options), "limit": limit}
        data = client.ok(client.request("GET", "/api/jobs", params=params))

        def render(d: dict) -> None:
            rows = [{**j, "error": (j["error"] or "").split("\n")[0][:60]} for j in d["jobs"]]
            table(rows, ["jobId", "hookId", "status", "reason", "createdAt", "durationMs", "error"])
            if d["nextCursor"]:
                click.echo("(more: narrow the filter or raise --limit)")

        emit(client, data, render)

    def bulk(action: str, path: str, client: Client, options: dict[str, Any], yes: bool) -> None:
        flt = _chosen(options)
        if not flt:
            fail(f"name the jobs to {action}: e.g. --status failed --since 1h")
        dry = client.ok(client.request("POST", path, json={"filter": flt, "dryRun": True}))
        matched = dry["matched"]
        label = f"{matched}{'+' if dry['capped'] else ''}"
        if matched == 0:
            emit(client, {"matched": 0, action: []}, lambda d: click.echo("no jobs match"))
            return
        if not yes and not click.confirm(f"{action} {label} job(s)?", err=True):
            fail("cancelled")
        done: list[dict] = []
        failed: list[dict] = []
        cursor = None
        show = sys.stderr.isatty() and not client.as_json
        with click.progressbar(
            length=matched, label=action, file=sys.stderr if show else io.StringIO()
        ) as bar:
            while True:
                body = {"filter": flt, "cursor": cursor}
                page = client.ok(client.request("POST", path, json=body))
                key = next(k for k in page if k not in ("failed", "nextCursor", "max"))
                done += page[key]
                failed += page["failed"]
                bar.update(len(page[key]) + len(page["failed"]))
                cursor = page["nextCursor"]
                if not cursor or not (page[key] or page["failed"]):
                    break

        def render(d: dict) -> None:
            click.echo(f"{action}: {len(d['done'])}, refused: {len(d['failed'])}")
            for f in d["failed"]:
                click.echo(f"  {f['jobId']}: {f['error']['message']}")

        emit(client, {"done": done, "failed": failed}, render)

    @jobs.command("replay")
    @_filter_options
    @click.option("--yes", is_flag=True, help="do not ask for confirmation")
    @click.pass_obj
    def jobs_replay(client: Client, yes: bool, **options: Any) -> None:
        """Run the matching stored events again (each as a new job), e.g. after
        fixing a script: hooklet jobs replay --status failed --since 1h."""
        bulk("replay", "/api/jobs/replay", client, options, yes)

    @jobs.command("redeliver")
    @_filter_options
    @click.option("--yes", is_flag=True, help="do not ask for confirmation")
    @click.pass_obj
    def jobs_redeliver(client: Client, yes: bool, **options: Any) -> None:
        """Send the matching jobs' callbacks again, e.g. --delivery failed."""
        bulk("redeliver", "/api/jobs/redeliver", client, options, yes)

    @main.command()
    @click.option("--hook", help="one hook (default: the fleet)")
    @click.option("--range", "range_", default="1h", show_default=True, help="15m, 1h, 6h, 24h")
    @click.pass_obj
    def stats(client: Client, hook: str | None, range_: str) -> None:
        """Events, jobs, failures and script durations over time."""
        params = {"range": range_, **({"hook": hook} if hook else {})}
        data = client.ok(client.request("GET", "/api/stats", params=params))
        summary = client.ok(client.request("GET", "/api/stats/hooks")) if not hook else None

        def render(both: dict) -> None:
            d = both["series"]
            rows = []
            for i, t in enumerate(d["t"]):
                events = sum(v[i] for v in d["events"].values())
                jobs_done = sum(v[i] for v in d["jobs"].values())
                if not events and not jobs_done:
                    continue
                rows.append(
                    {
                        "minute": time.strftime("%H:%M", time.gmtime(t)),
                        "events": int(events),
                        "succeeded": int(d["jobs"]["succeeded"][i]),
                        "failed": int(d["jobs"]["failed"][i]),
                        "p50 ms": d["durationMs"]["p50"][i],
                        "p95 ms": d["durationMs"]["p95"][i],
                        "max ms": d["durationMs"]["max"][i],
                    }
                )
            click.secho(f"{d['hook'] or 'fleet'}, every {d['stepS'] // 60} min", bold=True)
            table(rows, ["minute", "events", "succeeded", "failed", "p50 ms", "p95 ms", "max ms"])
            click.echo("(times in UTC; minutes without events or jobs are left out)")
            if summary:
                click.echo()
                hooks = [{"hook": k, **v} for k, v in summary["hooks"].items()]
                table(hooks, ["hook", "events", "failed", "errorRate", "p95Ms"])

        emit(client, {"series": data, "hooks": summary}, render)
