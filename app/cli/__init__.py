"""``hooklet``: the command line for operators and hook authors.

It talks to a running hooklet over HTTP (``--url``, ``HOOKLET_URL``) with a
token (``--token``; ``HOOKLET_TOKEN``, a project token; ``HOOKLET_ADMIN_TOKEN``;
or ``.hooklet/admin-token``): a project token sees only its project.
Tables in a terminal; ``--json`` for scripts. One module per command group.
"""

from __future__ import annotations

import click

from app.cli.client import Client, default_token

__all__ = ["main"]


@click.group()
@click.version_option(package_name="hooklet", prog_name="hooklet")  # importlib.metadata
@click.option(
    "--url",
    envvar="HOOKLET_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="hooklet's base URL",
)
@click.option("--token", default=None, help="token (default: HOOKLET_TOKEN or HOOKLET_ADMIN_TOKEN)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
@click.pass_context
def main(ctx: click.Context, url: str, token: str | None, as_json: bool) -> None:
    """Manage hooks, send events and watch jobs and workers."""
    ctx.obj = Client(url, token or default_token(), as_json)


def _register() -> None:
    from app.cli import access, console, dev, drafts, fleet, hooks, jobs

    main.add_command(hooks.hooks)
    hooks.hooks.add_command(drafts.hooks_rollback)
    main.add_command(drafts.draft)
    main.add_command(dev.dev)
    main.add_command(jobs.jobs)
    main.add_command(jobs.send)
    main.add_command(fleet.workers)
    for group in (access.projects, access.tokens, access.kv):
        main.add_command(group)
    console.register(main, jobs.jobs)


_register()
