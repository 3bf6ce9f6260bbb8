"""The executor's side of shadow runs: once a live run's outcome is recorded,
a hook with ``shadow.sample`` offers that share of its events to the shadow
lane. Hooks without it cost the executor one attribute check
(``ScriptSpec.shadow_sample``); an offer is one Redis call that queues the
run only if the hook has a draft and the lane has room
(``settings.shadow_queue_max``), else counts it as skipped, through the
executor's own ``ShadowResults``. It never fails
the live job: it is already recorded, and a Redis error here is logged."""

from __future__ import annotations

import logging
import random

import redis

from workers.queue.messages import task_message
from workers.queue.names import SHADOW_QUEUE, SHADOW_RUN, shadow_time_limits
from workers.queue.specs import ScriptSpec
from workers.settings import Settings
from workers.store.jobs.records import Outcome
from workers.store.shadow.results import ShadowResults

__all__ = ["offer_shadow"]

log = logging.getLogger("hooklet.shadow")


def offer_shadow(
    results: ShadowResults, settings: Settings, spec: ScriptSpec, job_id: str, outcome: Outcome
) -> None:
    """Offer the live run ``job_id`` to its hook's draft, with the spec's
    sample as the chance (1.0: every event)."""
    if random.random() >= spec.shadow_sample:
        return
    soft_s, hard_s = shadow_time_limits(settings)
    message = task_message(SHADOW_RUN, SHADOW_QUEUE, [job_id, spec.hook_id], soft_s, hard_s)
    try:
        results.offer(spec.hook_id, SHADOW_QUEUE, message, outcome.tape_skipped or "")
    except redis.RedisError as exc:
        log.warning("shadow run of job %s not offered: %s", job_id, exc)
