"""``GET /metrics``: Prometheus exposition of the fleet's metrics.

Counters are recorded into Redis by every process (workers/metrics.py), so
this view is the same whichever gunicorn worker answers, and covers every
worker node. Queue depths and jobs in flight are read at scrape time.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from app import services
from app.auth import bearer_token, token_matches
from app.shared_reading import shared
from workers.errors import QueueUnavailable, Unauthorized
from workers.queue.names import CALLBACKS_QUEUE, SCRIPTS_QUEUE, SHADOW_QUEUE, SYNC_QUEUE
from workers.store import keys
from workers.store.access.membership import hook_projects
from workers.store.destinations.reads import BreakerState, list_destinations
from workers.store.lanes.lane import queued_counts
from workers.store.metrics import DURATION_BUCKETS_S, parse_child_entry, parse_field
from workers.store.ordering.store import OrderingStore

__all__ = ["bp"]

bp = Blueprint("metrics", __name__)
_RSS_STALE_S = 300  # children that have not reported for this long are gone
_SCRAPE_WAIT_S = 20.0  # longest a scrape waits for another's reading

_COUNTERS = {
    "events_received": (
        "hooklet_events_received",
        "Requests at the intake, by hook and outcome",
        ["hook", "outcome"],
    ),
    "jobs_finished": (
        "hooklet_jobs_finished",
        "Jobs that ended, by hook and status",
        ["hook", "status"],
    ),
    "jobs_taken_from_queue": (
        "hooklet_jobs_taken_from_queue",
        "Jobs a worker child took straight off the queue after its Celery task's "
        "own job (HOOKLET_BATCH_MAX_JOBS), by hook",
        ["hook"],
    ),
    "script_terminations": (
        "hooklet_script_terminations",
        "Failed script runs by reason (timeout, memory, crashed, error, ...)",
        ["hook", "reason"],
    ),
    "jobs_trimmed": (
        "hooklet_jobs_trimmed",
        "Finished jobs deleted before their retention ended to keep Redis under its "
        "memory budget (HOOKLET_REDIS_HIGH_WATER)",
        [],
    ),
    "script_outbound_requests": (
        "hooklet_script_outbound_requests",
        "Scripts' outbound requests (fetch, op_proxy_request) by hook and outcome "
        "(ok, refused, timeout, failed, too_large, invalid, limit)",
        ["hook", "outcome"],
    ),
    "quota_refusals": (
        "hooklet_quota_refusals",
        "Requests refused by a project's quota (maxHooks: 422), by project and quota",
        ["project", "quota"],
    ),
    "callback_deliveries": (
        "hooklet_callback_deliveries",
        "Callback attempts by hook and outcome",
        ["hook", "outcome"],
    ),
    "shadow_runs": (
        "hooklet_shadow_runs",
        "Shadow runs of hooks' drafts on live events, by hook and outcome (same, differs, "
        "diverged, failed, nondeterministic, skipped)",
        ["hook", "outcome"],
    ),
}


class _FleetCollector:
    def __init__(self, client) -> None:  # noqa: ANN001
        self.redis = client

    def collect(self) -> Iterator[Metric]:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.metrics())
            pipe.hgetall(keys.child_rss())
            pipe.llen(keys.celery_queue(SCRIPTS_QUEUE))
            pipe.llen(keys.celery_queue(CALLBACKS_QUEUE))
            pipe.zcard(keys.running())
            pipe.zcard(keys.callbacks_due())
            pipe.info("memory")
            pipe.llen(keys.celery_queue(SYNC_QUEUE))
            pipe.smembers(keys.hook_ids())
            pipe.llen(keys.celery_queue(SHADOW_QUEUE))
            (counters, rss, scripts, callbacks, running, due, memory, sync, hook_ids,
             shadow) = pipe.execute()  # fmt: skip
        ids = [h.decode() for h in hook_ids]
        sync_queued, per_hook = queued_counts(self.redis, ids)
        yield _project_hooks(self.redis, ids)

        families = {
            key: CounterMetricFamily(name, doc, labels=labels)
            for key, (name, doc, labels) in _COUNTERS.items()
        }
        buckets: dict[str, dict[str, float]] = defaultdict(dict)
        sums: dict[str, float] = {}
        for raw, value in counters.items():
            name, labels = parse_field(raw.decode())
            amount = float(value)
            if name in families:
                spec = _COUNTERS[name][2]
                families[name].add_metric([labels.get(label, "") for label in spec], amount)
            elif name == "script_duration_bucket":
                buckets[labels["hook"]][labels["le"]] = amount
            elif name == "script_duration_sum":
                sums[labels["hook"]] = amount
        yield from families.values()

        histogram = HistogramMetricFamily(
            "hooklet_script_duration_seconds", "Script execution time", labels=["hook"]
        )
        for hook, counts in sorted(buckets.items()):
            running_total, cumulative = 0.0, []
            for le in [*(str(b) for b in DURATION_BUCKETS_S), "+Inf"]:
                running_total += counts.get(le, 0.0)
                cumulative.append((le, running_total))
            histogram.add_metric([hook], cumulative, sum_value=sums.get(hook, 0.0))
        yield histogram

        depth = GaugeMetricFamily(
            "hooklet_queue_depth", "Messages waiting per queue", labels=["queue"]
        )
        depth.add_metric([SYNC_QUEUE], sync)
        depth.add_metric([SCRIPTS_QUEUE], scripts)
        depth.add_metric([CALLBACKS_QUEUE], callbacks)
        depth.add_metric([SHADOW_QUEUE], shadow)  # shadow runs waiting (workers/shadow)
        yield depth
        queued = GaugeMetricFamily(
            "hooklet_hook_queued_events",
            "Async events queued per hook, not yet started (limits.maxQueued caps it)",
            labels=["hook"],
        )
        for hook, n in per_hook.items():
            queued.add_metric([hook], n)
        yield queued
        yield GaugeMetricFamily(
            "hooklet_sync_lane_queued_events",
            "Sync events queued, not yet started (the sync lane)",
            value=sync_queued,
        )
        yield GaugeMetricFamily("hooklet_jobs_in_flight", "Jobs running now", value=running)
        yield GaugeMetricFamily(
            "hooklet_redis_memory_used_bytes", "Redis used_memory", value=memory["used_memory"]
        )
        yield GaugeMetricFamily(
            "hooklet_redis_memory_max_bytes",
            "Redis maxmemory (0: no budget)",
            value=memory.get("maxmemory", 0),
        )
        yield GaugeMetricFamily(
            "hooklet_callbacks_waiting_retry", "Callbacks waiting for their next attempt", value=due
        )
        gauge = GaugeMetricFamily(
            "hooklet_worker_child_rss_bytes",
            "Resident memory of each worker child after its last job",
            labels=["child"],
        )
        isolates = GaugeMetricFamily(
            "hooklet_worker_child_warm_isolates",
            "Warm V8 isolates kept by each worker child after its last job",
            labels=["child"],
        )
        now = time.time()
        for child, value in sorted(rss.items()):
            rss_bytes, at, warm = parse_child_entry(value.decode())
            if now - at < _RSS_STALE_S:
                gauge.add_metric([child.decode()], float(rss_bytes))
                isolates.add_metric([child.decode()], float(warm))
        yield gauge
        yield isolates
        yield from _destinations(self.redis)
        yield from _ordering(self.redis, ids)


def _project_hooks(client, hook_ids: list[str]) -> Metric:  # noqa: ANN001
    """Hooks per project: one pipelined read of each hook's definition."""
    counts: dict[str, int] = defaultdict(int)
    for project in hook_projects(client, hook_ids).values():
        counts[project] += 1
    gauge = GaugeMetricFamily("hooklet_project_hooks", "Hooks per project", labels=["project"])
    for project, count in sorted(counts.items()):
        gauge.add_metric([project], count)
    return gauge


def _destinations(client) -> Iterator[Metric]:  # noqa: ANN001
    """Each callback destination's breaker, one series per state (1: the
    state it is in), and the deliveries queued for it."""
    state = GaugeMetricFamily(
        "hooklet_destination_state",
        "Callback destinations' circuit breaker: 1 for the state it is in",
        labels=["destination", "state"],
    )
    queued = GaugeMetricFamily(
        "hooklet_destination_queued_deliveries",
        "Callback deliveries pending per destination (parked, waiting or in flight)",
        labels=["destination"],
    )
    for found in list_destinations(client):
        for each in BreakerState:
            state.add_metric([found.destination, each.value], float(found.state is each))
        queued.add_metric([found.destination], float(found.queued))
    yield state
    yield queued


def _ordering(client, hook_ids: list[str]) -> Iterator[Metric]:  # noqa: ANN001
    """Ordered hooks (issue 24): blocked keys, and events waiting for their key."""
    blocked = GaugeMetricFamily(
        "hooklet_ordering_blocked_keys",
        "Ordering keys held by a failed event (onFailure: block) until resumed, per hook",
        labels=["hook"],
    )
    for hook, count in sorted(OrderingStore(client).blocked_counts(hook_ids).items()):
        if count:
            blocked.add_metric([hook], count)
    yield blocked
    waiting = GaugeMetricFamily(
        "hooklet_ordering_waiting_events",
        "Events of ordered hooks waiting for their key (queued, not yet in the lane), per hook",
        labels=["hook"],
    )
    for hook, count in sorted(client.hgetall(keys.ordering_waiting()).items()):
        if int(count) > 0:
            waiting.add_metric([hook.decode()], int(count))
    yield waiting


def _check_token() -> None:
    """With ``HOOKLET_METRICS_TOKEN`` set, a scrape needs it as a bearer token
    (Prometheus: ``authorization: {credentials: ...}``): the metrics name every
    active hook and worker host."""
    expected = services.settings().metrics_token
    if expected and not token_matches(bearer_token(), expected):
        raise Unauthorized("missing or wrong metrics token")


@bp.get("/metrics")
def metrics() -> Response:
    _check_token()
    # Scrapes at the same time share one reading (it grows with the fleet).
    text = shared("metrics", 0.0, _SCRAPE_WAIT_S).get(_scrape, lambda: None)
    if text is None:
        raise QueueUnavailable("another scrape is still reading Redis; try again shortly")
    return Response(text, mimetype=CONTENT_TYPE_LATEST)


def _scrape() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FleetCollector(services.dispatcher().redis))
    return generate_latest(registry)
