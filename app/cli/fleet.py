"""``hooklet workers``: the worker fleet, its load and memory, and queue depths."""

from __future__ import annotations

import click

from app.cli.client import Client, emit, table

__all__ = ["workers"]


@click.command()
@click.pass_obj
def workers(client: Client) -> None:
    """Worker nodes, their children, load and memory, queue depths and each
    hook's queued events."""
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
        click.echo()
        queued = [{"hook": "(sync lane)", "queued": d.get("syncQueued", 0)}]
        queued += [{"hook": h["hook"], "queued": h["queued"]} for h in d.get("hooks", [])]
        table(queued, ["hook", "queued"])
        click.echo(f"\njobs running: {d['jobsRunning']}")

    emit(client, data, render)
