"""Callback delivery: POST a finished async job to its hook's ``callbackUrl``,
signed per Standard Webhooks, with retries on a schedule.

The first attempt is queued atomically with the job's end (``JobStore.finish``).
A failed attempt puts the job in a due-set; the reaper thread moves due jobs
back to the ``callbacks`` queue, so long delays never sit in Celery's ETA
machinery (which redelivers anything held past the visibility timeout).
Before each attempt the destination's gate (``destinations.py``) may put the
delivery aside instead: parked while the destination's breaker is open, or
due again at the hook's next rate slot; neither spends an attempt.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from standardwebhooks import Webhook

from workers import tracing
from workers.delivery.destinations import DestinationGate
from workers.delivery.egress import callback_allowlist, loggable_url
from workers.delivery.outbound import OutboundError, OutboundResponse, UpstreamTooLarge, send
from workers.errors import HookNotFound
from workers.settings import Settings
from workers.store import metrics
from workers.store.budget import MemoryBudget
from workers.store.connection import client_for
from workers.store.deliveries import DeliveryStore
from workers.store.destinations.store import Admission, Verdict
from workers.store.hooks import Hook, HookStore
from workers.store.jobs.records import DeliveryStatus
from workers.store.jobs.store import JobStore
from workers.store.jobs.view import render_job

__all__ = ["Deliverer", "next_attempt"]

log = logging.getLogger("hooklet.delivery")
_MAX_RETRY_AFTER_S = 24 * 3600
# A receiver's answer matters only for its status; its body is read up to this.
_MAX_ANSWER_BYTES = 64 * 1024
_DETAIL_BODY_CHARS = 200
_PAYLOAD_FIELDS = (
    "jobId",
    "hookId",
    "status",
    "reason",
    "error",
    "result",
    "durationMs",
    "attempts",
    "scriptVersion",
    "createdAt",
    "startedAt",
    "finishedAt",
)


def _retry_after_s(response: OutboundResponse) -> float | None:
    value = response.header("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return min(float(value), _MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when.timestamp() - time.time()), _MAX_RETRY_AFTER_S)


def next_attempt(
    status_code: int | None,
    retry_after_s: float | None,
    attempts_made: int,
    schedule_s: tuple[int, ...],
) -> tuple[DeliveryStatus, float | None]:
    """The retry policy: the delivery's status after an attempt that got
    ``status_code`` (None: no answer), and the delay before the next one.
    2xx succeeds; 410 Gone stops at once; otherwise the schedule's next delay
    with +-10% jitter, or the receiver's ``Retry-After``, until it runs out."""
    if status_code is not None and 200 <= status_code < 300:
        return DeliveryStatus.SUCCEEDED, None
    if status_code == 410:
        return DeliveryStatus.FAILED, None  # Gone: the receiver asks us to stop
    if attempts_made > len(schedule_s):
        return DeliveryStatus.FAILED, None
    if retry_after_s is not None:
        return DeliveryStatus.PENDING, retry_after_s
    return DeliveryStatus.PENDING, schedule_s[attempts_made - 1] * random.uniform(0.9, 1.1)


class Deliverer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        client = client_for(settings, retries="patient")
        self.redis = client
        self.jobs = JobStore(client, settings.retention_s)
        self.deliveries = DeliveryStore(
            client, settings.retention_s, budget=MemoryBudget(client, settings)
        )
        self.hooks = HookStore(client)
        self.gate = DestinationGate(client, settings)

    def payload(self, raw: dict[bytes, bytes]) -> bytes:
        view = render_job(raw, with_request=False)
        return orjson.dumps({"type": "job.finished", **{k: view[k] for k in _PAYLOAD_FIELDS}})

    def deliver(self, job_id: str) -> DeliveryStatus:
        """One attempt; returns the delivery status after it. A job that is
        gone (expired while no callback worker ran, or deleted with its hook)
        ends its delivery here, counted, without a write."""
        raw = self.jobs.get(job_id)
        if raw is None:
            return self._gone(job_id, "")
        try:  # only the hook that ran the job: not a hook created since with its id
            hook: Hook | None = self.hooks.get_for_version(
                raw[b"hookId"].decode(), int(raw[b"version"])
            )
        except HookNotFound:
            hook = None  # no retry can reach a hook that is gone: the delivery ends
        if hook is not None and hook.callback_url:
            admission = self.gate.admit(
                hook.callback_url, job_id, hook.id, hook.callback_rate_per_s
            )
            if admission.verdict is Verdict.GONE:
                return self._gone(job_id, hook.id)
            if admission.verdict is Verdict.ENDED:  # a stale copy of an ended delivery
                return DeliveryStatus(raw[b"deliveryStatus"].decode())
            if admission.verdict in (Verdict.PARK, Verdict.WAIT):
                return self._put_aside(job_id, admission)
        with tracing.callback_attempt(job_id, raw) as span:  # in the job's trace
            return self._attempt(job_id, raw, hook, span)

    def _put_aside(self, job_id: str, admission: Admission) -> DeliveryStatus:
        """Parked (open breaker) or waiting for a rate slot: no attempt made."""
        log.debug(
            "callback put aside",
            extra={
                "event": "callback_put_aside",
                "job_id": job_id,
                "verdict": admission.verdict.value,
                "due_at": admission.due_at,
            },
        )
        return DeliveryStatus.PENDING

    def _attempt(
        self, job_id: str, raw: dict[bytes, bytes], hook: Hook | None, span: Any
    ) -> DeliveryStatus:
        attempts_made = len(orjson.loads(raw[b"deliveries"])) if b"deliveries" in raw else 0
        started = time.monotonic()
        attempt: dict[str, Any] = {"at": datetime.now(UTC).isoformat(timespec="milliseconds")}
        response: OutboundResponse | None = None
        status_code: int | None = None
        hook_gone = hook is None
        try:
            if hook is None:
                attempt.update(error="hook deleted", errorDetail="the hook no longer exists")
            elif not hook.callback_url:
                attempt.update(error="no callback url", errorDetail="the hook has no callbackUrl")
            else:
                response = self._post(hook, job_id, self.payload(raw), span)
                status_code = response.status
        except UpstreamTooLarge as exc:
            status_code = exc.upstream_status  # only the status matters
        except OutboundError as exc:
            attempt.update(error=exc.category, errorDetail=str(exc))
        if status_code is not None:
            attempt["statusCode"] = status_code
            if not 200 <= status_code < 300:
                answer = response.body[:_DETAIL_BODY_CHARS] if response is not None else b""
                attempt.update(
                    error=f"HTTP {status_code}",
                    errorDetail=f"HTTP {status_code}: {answer.decode('utf-8', 'replace')}",
                )
        attempt["durationMs"] = round((time.monotonic() - started) * 1000, 1)

        retry_after = _retry_after_s(response) if response is not None else None
        status, delay_s = next_attempt(
            status_code, retry_after, attempts_made + 1, self.settings.callback_schedule_s
        )
        if hook_gone:
            status, delay_s = DeliveryStatus.FAILED, None
        attempt["outcome"] = status.value
        span.attempted(attempts_made + 1, status_code, status.value, attempt.get("error"))
        next_at = None if delay_s is None else time.time() + delay_s
        hook_label = raw[b"hookId"].decode()
        if hook is not None and hook.callback_url:
            self.gate.report(hook.callback_url, job_id, status_code, attempt.get("error"), status)
        if not self.deliveries.record(job_id, attempt, status, next_at):
            return self._gone(job_id, hook_label)
        outcome = "retry" if status is DeliveryStatus.PENDING else status.value
        metrics.record(
            self.redis,
            [(metrics.field("callback_deliveries", hook=hook_label, outcome=outcome), 1)],
        )
        log.info(
            "callback attempt",
            extra={"event": "callback_attempt", "job_id": job_id, "status": status, **attempt},
        )
        return status

    def _gone(self, job_id: str, hook_label: str) -> DeliveryStatus:
        metrics.record(
            self.redis,
            [(metrics.field("callback_deliveries", hook=hook_label, outcome="job_gone"), 1)],
        )
        log.info(
            "callback dropped: the job is gone",
            extra={"event": "callback_dropped", "job_id": job_id},
        )
        return DeliveryStatus.FAILED

    def _post(self, hook: Hook, job_id: str, payload: bytes, span: Any) -> OutboundResponse:
        """POST through the egress guard, checked again now (DNS may have
        changed since the hook was saved) and connected to the checked address."""
        msg_id = f"msg_{job_id}"  # stable across retries, as the spec asks
        now = datetime.now(UTC)
        signature = Webhook(hook.callback_secret).sign(msg_id, now, payload.decode())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "hooklet-callbacks",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        assert hook.callback_url is not None
        span.target(loggable_url(hook.callback_url))
        return send(
            "POST",
            hook.callback_url,
            headers=span.headers(headers, hook.trace.get("propagate", False)),
            body=payload,
            timeout_s=self.settings.callback_timeout_s,
            max_response_bytes=_MAX_ANSWER_BYTES,
            allowlist=callback_allowlist(self.settings),
        )
