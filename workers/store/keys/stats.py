"""The counters /metrics reads and the console's one-minute stats buckets (store/stats/)."""

from __future__ import annotations

from workers.store.keys.prefix import PREFIX


def metrics() -> str:
    """Hash: counters shared by every process (field = metric and labels)."""
    return f"{PREFIX}:metrics"


def child_rss() -> str:
    """Hash: worker child -> "rss_bytes timestamp warm_isolates", refreshed after each job."""
    return f"{PREFIX}:metrics:rss"


def stats_hooks(minute: int) -> str:
    """Hash: one minute's per-hook counters (``hook|kind|label``) for charts."""
    return f"{PREFIX}:stats:{minute}"


def stats_fleet(minute: int) -> str:
    """Hash: one minute's fleet-wide counters and gauges (``kind|label``)."""
    return f"{PREFIX}:stats:fleet:{minute}"


def stats_step_cache(scope: str, step_minutes: int, first_minute: int) -> str:
    """String: a finished step of a stats series (JSON), summed once from its
    minute buckets; ``scope`` is a hook id or ``*`` for the fleet."""
    return f"{PREFIX}:stats:step:{scope}:{step_minutes}:{first_minute}"
