"""The environment every hooklet process of a test stack runs with."""

from __future__ import annotations

import os

from stackkit.processes import BIN

__all__ = ["ADMIN_TOKEN", "hooklet_env"]

ADMIN_TOKEN = "test-admin-token"


def hooklet_env(redis_url: str, **overrides: str | int | float) -> dict[str, str]:
    """This process's environment plus hooklet's settings for a stack on
    ``redis_url``; ``overrides`` name settings (``child_rss_mb=300`` sets
    ``HOOKLET_CHILD_RSS_MB``)."""
    env = {
        **os.environ,
        "HOOKLET_REDIS_URL": redis_url,
        "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOOKLET_REAPER_INTERVAL_S": "1",
        "HOOKLET_REAPER_GRACE_S": "2",
        # Callbacks: the local receiver is allowed, and retries come quickly.
        "HOOKLET_CALLBACK_ALLOWLIST": "127.0.0.1",
        "HOOKLET_CALLBACK_SCHEDULE_S": "1,1,1",
        "HOOKLET_CALLBACK_TIMEOUT_S": "2",
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.update({f"HOOKLET_{k.upper()}": str(v) for k, v in overrides.items()})
    return env
