"""Callback destinations: callbacks grouped by where they go (scheme, host
and port), each with a circuit breaker and, per hook, a rate
(``callback.ratePerS``).

``DestinationGate`` is what the deliverer asks before an attempt and tells
after it; the state lives in Redis (``workers/store/destinations``), shared
by every callback worker process. A delivery that may not go now (an open
breaker, a rate slot still to come) is put aside, not slept on: a worker
thread is never held by one destination, and waiting spends no attempt.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import redis

from workers.errors import InvalidHook
from workers.settings import Settings
from workers.store.destinations.store import (
    Admission,
    BreakerPolicy,
    DestinationStore,
    Signal,
)
from workers.store.jobs.records import DeliveryStatus

__all__ = [
    "DestinationGate",
    "breaker_policy",
    "destination_of",
    "parse_callback_options",
    "signal_of",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Errors that say nothing about the destination's health: hooklet's own refusal.
_NOT_THE_DESTINATION = {"refused by egress guard", "limit"}
# A probe that never reports (its worker vanished) frees its turn this long
# after its attempt's own timeout.
_PROBE_GRACE_S = 30.0
MAX_RATE_PER_S = 10_000.0


def parse_callback_options(raw: object) -> float | None:
    """A hook's ``callback``: ``{"ratePerS": n}`` caps how fast the callback's
    destination is called (``null`` or absent: no cap). Returns the rate."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"ratePerS"}:
        raise InvalidHook("callback", "must be an object with ratePerS")
    rate = raw.get("ratePerS")
    if rate is None:
        return None
    if not isinstance(rate, int | float) or isinstance(rate, bool):
        raise InvalidHook("callback.ratePerS", "must be a number")
    if not 0 < rate <= MAX_RATE_PER_S:
        raise InvalidHook("callback.ratePerS", f"must be above 0 and at most {MAX_RATE_PER_S:g}")
    return float(rate)


def destination_of(url: str) -> str:
    """``scheme://host:port`` of a callback URL: what its breaker is keyed by."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{host}:{port}"


def signal_of(status_code: int | None, error: str | None) -> Signal:
    """What an attempt says about the destination: any answer but 5xx or
    429 is healthy; no answer at all is a failure, unless hooklet itself
    refused to send."""
    if status_code is not None:
        return Signal.FAILURE if status_code >= 500 or status_code == 429 else Signal.HEALTHY
    if error is None or error in _NOT_THE_DESTINATION:
        return Signal.NONE
    return Signal.FAILURE


def breaker_policy(settings: Settings) -> BreakerPolicy:
    return BreakerPolicy(
        failures=max(1, settings.breaker_failures),
        cooldown_s=settings.breaker_cooldown_s,
        max_cooldown_s=max(settings.breaker_cooldown_s, settings.breaker_max_cooldown_s),
        probe_lease_s=settings.callback_timeout_s + _PROBE_GRACE_S,
    )


class DestinationGate:
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.store = DestinationStore(client, settings.retention_s, breaker_policy(settings))

    def admit(self, url: str, job_id: str, hook_id: str, rate_per_s: float | None) -> Admission:
        return self.store.admit(destination_of(url), job_id, hook_id, rate_per_s)

    def report(
        self,
        url: str,
        job_id: str,
        status_code: int | None,
        error: str | None,
        status: DeliveryStatus,
    ) -> int:
        """Tell the breaker what the attempt said; 1: it closed, 2: it opened."""
        signal = signal_of(status_code, error)
        return self.store.report(destination_of(url), job_id, signal, error or "", status)
