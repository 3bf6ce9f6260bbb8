"""One frozen settings object, built from ``HOOKLET_*`` environment variables.

Both factories (``create_app`` and ``make_celery``) take a ``Settings``; the
defaults below are the only place defaults are written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Settings", "load_settings"]


def _default_callback_schedule() -> tuple[int, ...]:
    # 5s, 5m, 30m, 2h, 5h, 10h, 10h -- the Svix / Standard Webhooks schedule.
    return (5, 300, 1800, 7200, 18000, 36000, 36000)


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6390/0"
    # -- Redis budget and availability (README: "Redis: memory budget and high
    # availability"). ``redis_url`` may be a Sentinel list
    # (sentinel://host:26379;sentinel://host:26380) naming this master:
    redis_sentinel_master: str = "mymaster"
    # maxmemory given to the Redis that scripts/run, compose and the test
    # fixtures start (a Redis you run yourself keeps its own setting).
    redis_maxmemory: str = "1gb"
    # Above this share of maxmemory the oldest finished jobs are trimmed; when
    # none is left to trim, the intake refuses events (503 store_full).
    redis_high_water: float = 0.85
    redis_trim_batch: int = 200  # finished jobs deleted per atomic step
    # An event is answered 2xx only once this many replicas have it (WAIT);
    # -1: one when redis_url is a Sentinel list, else none.
    redis_wait_replicas: int = -1
    redis_wait_timeout_ms: int = 500
    # Longest retentionS a hook may ask for.
    max_retention_s: int = 30 * 24 * 3600
    admin_token: str = ""
    hooks_dir: str = ""
    # Intake
    max_body_bytes: int = 1024 * 1024
    # Request headers kept with an event (names and values, in bytes): over
    # it the request is refused (431) and nothing is stored.
    max_header_bytes: int = 64 * 1024
    retention_s: int = 7 * 24 * 3600
    retry_after_s: int = 5
    # A sync slot whose request vanished (a killed web process) comes back
    # this long after the request's wait would have ended.
    sync_slot_grace_s: int = 30
    # Script limits: per-hook defaults and operator maxima.
    default_timeout_ms: int = 30_000
    default_heap_mb: int = 10
    default_wait_ms: int = 10_000
    default_max_concurrent: int = 10
    # Async events one hook may have queued (limits.maxQueued's default);
    # past it the intake answers 429 and stores nothing.
    max_queued_per_hook: int = 10_000
    default_requests_to_track: int = 30
    max_timeout_ms: int = 60_000
    max_heap_mb: int = 128
    max_wait_ms: int = 60_000
    max_requests_to_track: int = 1000
    # Celery limits sit this far above the script's own timeout.
    soft_limit_margin_ms: int = 2_000
    hard_limit_margin_ms: int = 5_000
    # Per-child process limits.
    child_rss_mb: int = 256
    max_tasks_per_child: int = 10_000
    # A child whose RSS stays above this after a task is replaced (V8 and
    # malloc keep freed pages after memory-hungry scripts).
    max_memory_per_child_mb: int = 192
    max_attempts: int = 3
    # Redis hands an unacknowledged task to another worker after this long;
    # 0 means "the longest hard time limit plus 30 s".
    visibility_timeout_s: int = 0
    # What a script may emit.
    max_log_lines: int = 100
    max_log_bytes: int = 16 * 1024
    max_result_bytes: int = 1024 * 1024
    max_error_bytes: int = 8 * 1024
    max_response_headers: int = 100
    max_response_header_bytes: int = 32 * 1024
    # Everything one run writes into its job (result, logs, error, outbound record).
    max_job_output_bytes: int = 2 * 1024 * 1024
    # A run's tape (host call answers, clock, seed; sandbox/tape.py), compressed;
    # over it the job is kept without one and marked not replayable.
    tape_max_bytes: int = 256 * 1024
    # Shadow runs (workers/shadow) waiting at most; past it a sampled event
    # is counted as skipped, never queued.
    shadow_queue_max: int = 1000
    # Script host calls, per run (README "Script runtime").
    script_max_requests: int = 50
    script_max_request_bytes: int = 10 * 1024 * 1024  # sent, all requests together
    script_max_response_bytes: int = 10 * 1024 * 1024  # one response (secutils' limit)
    script_max_received_bytes: int = 32 * 1024 * 1024  # received, all responses together
    script_max_request_timeout_ms: int = 30_000
    kv_max_key_bytes: int = 256
    kv_max_value_bytes: int = 1024 * 1024
    kv_max_entries: int = 100_000
    kv_max_total_bytes: int = 1024**3
    kv_max_ttl_s: int = 30 * 24 * 3600
    kv_ops_per_run: int = 200
    # Reverse proxies in front of hooklet (X-Real-IP / X-Forwarded-For); 0 trusts none.
    trusted_proxies: int = 0
    # Warm isolates (see workers/sandbox/pool.py).
    isolate_cache_size: int = 32
    isolate_max_uses: int = 1000
    isolate_max_heap_mb: int = 8
    # Blank isolates each child keeps ready for isolation: "fresh" hooks, made
    # on a thread after a fresh run (workers/sandbox/prewarm.py); 0: none.
    fresh_prewarm: int = 2
    # Reaper: a running job whose deadline passed this long ago is orphaned.
    reaper_interval_s: float = 5.0
    reaper_grace_s: float = 10.0
    # Callbacks
    callback_timeout_s: float = 15.0
    callback_schedule_s: tuple[int, ...] = field(default_factory=_default_callback_schedule)
    callback_allowlist: tuple[str, ...] = ()
    # Each callback destination (scheme, host, port) has a circuit breaker:
    # this many consecutive failures open it for the cooldown, which doubles
    # after each failed probe up to the maximum (workers/delivery/destinations.py).
    breaker_failures: int = 20
    breaker_cooldown_s: float = 30.0
    breaker_max_cooldown_s: float = 3600.0
    # The egress guard (workers/delivery/egress.py): host names, addresses or
    # CIDR ranges that scripts' requests and callbacks may reach although they
    # are not public. Callbacks also accept HOOKLET_CALLBACK_ALLOWLIST.
    egress_allowlist: tuple[str, ...] = ()
    # Celery task events feed Flower's task views and cost Redis publishes per
    # task. Off by default: Flower switches them on while it runs.
    task_events: bool = False
    # Messages each worker child reserves ahead: more keeps short tasks flowing,
    # fewer keeps long scripts from holding back messages another node could run.
    prefetch_multiplier: int = 4
    # After the job its task was for, a worker child runs up to this many
    # more queued jobs straight off the queue, for up to the window's time
    # (0 turns this off: one Celery task per event). See Executor.run.
    batch_max_jobs: int = 16
    batch_window_ms: int = 50
    # Of those, a child takes up to this many in one Redis call and records
    # the outcomes of the ones it held together with its next take (1: one
    # job per call). See queue/held.py.
    take_batch: int = 4
    # An ordered job's outcome waits for that next take only behind runs this
    # child guesses short: its key's next event waits about this long at most
    # (0: recorded at once). See queue/held.py.
    ordered_hold_ms: float = 2.0
    # /metrics: when set, scrapes need "Authorization: Bearer <token>".
    metrics_token: str = ""
    # Flower
    flower_user: str = "admin"
    flower_password: str = ""
    # The console (app/console): its own origin, never the intake's.
    console_bind: str = "127.0.0.1:8001"
    # Where the console links to Flower ('' hides the link).
    flower_url: str = "http://127.0.0.1:5555"
    # Secure session cookies even when the console sees plain HTTP (behind a
    # TLS-terminating proxy).
    console_secure_cookies: bool = False
    console_session_hours: int = 12
    # Failed console sign-ins allowed per client address within the window;
    # past it the sign-in form answers 429 until the window ends.
    console_signin_attempts: int = 10
    console_signin_window_s: int = 300
    # The sign-in throttle takes the client's address from the
    # trusted_proxies-th X-Forwarded-For hop; from X-Real-IP only when this
    # says the proxy in front sets it (a client can send its own).
    console_trust_real_ip: bool = False
    # Failed API authentications (a wrong bearer token) allowed per client
    # address within the window; past it the API answers 429 until it ends.
    api_auth_attempts: int = 10
    api_auth_window_s: int = 300
    # How long the audit log (GET /api/audit) keeps an entry.
    audit_retention_s: int = 90 * 24 * 3600
    # One-minute buckets for the console's charts (workers/store/stats/buckets.py).
    stats_enabled: bool = True
    # Each process merges its stats in memory and writes them to Redis at
    # most this often (workers/store/stats/buffer.py).
    stats_flush_s: float = 1.0
    # Bulk replay / redeliver: at most this many jobs per API call.
    bulk_max_jobs: int = 100


def _convert(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        items = [item.strip() for item in raw.split(",") if item.strip()]
        if default and isinstance(default[0], int):
            return tuple(int(item) for item in items)
        return tuple(items)
    return raw


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from ``HOOKLET_<FIELD>`` variables, then apply ``overrides``."""
    environ = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    for spec in fields(Settings):
        raw = environ.get(f"HOOKLET_{spec.name.upper()}")
        if raw is not None:
            values[spec.name] = _convert(raw, getattr(defaults, spec.name))
    values.update(overrides)
    return Settings(**values)
