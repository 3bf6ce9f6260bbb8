"""Reading callback destinations back (``GET /api/destinations``, the
console's fleet view, ``/metrics``): each one's breaker state, streak and
queued deliveries. The writing side is ``store.py``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis

from workers.store import keys

__all__ = ["BreakerState", "DestinationState", "list_destinations"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class DestinationState:
    destination: str
    state: BreakerState
    failures: int
    queued: int  # deliveries pending for it (parked, waiting or in flight)
    parked: int
    open_until: float | None
    cooldown_s: float | None
    opened: int
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None
    last_seen_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "state": self.state.value,
            "failureStreak": self.failures,
            "queued": self.queued,
            "parked": self.parked,
            "openUntil": self.open_until,
            "cooldownS": self.cooldown_s,
            "timesOpened": self.opened,
            "lastError": self.last_error,
            "lastErrorAt": self.last_error_at,
            "lastSuccessAt": self.last_success_at,
            "lastSeenAt": self.last_seen_at,
        }


def list_destinations(client: redis.Redis, limit: int = 500) -> list[DestinationState]:
    """Every destination, the most recently used first."""
    names = [d.decode() for d in client.zrevrange(keys.destinations(), 0, limit - 1)]
    seconds, micros = client.time()
    now = seconds + micros / 1e6
    with client.pipeline(transaction=False) as pipe:
        for dest in names:
            pipe.hgetall(keys.destination(dest))
            pipe.zcount(keys.destination_pending(dest), now, "+inf")
            pipe.zcard(keys.destination_parked(dest))
            pipe.zscore(keys.destinations(), dest)
        replies = pipe.execute()
    return [_state(dest, *replies[4 * i : 4 * i + 4], now) for i, dest in enumerate(names)]


def _state(
    dest: str, raw: dict[bytes, bytes], queued: int, parked: int, seen: float | None, now: float
) -> DestinationState:
    def num(name: str) -> float | None:
        value = raw.get(name.encode())
        return float(value) if value not in (None, b"", b"0") else None

    open_until_ms = num("openUntil")
    if open_until_ms is None:
        state = BreakerState.CLOSED
    elif now * 1000 < open_until_ms:
        state = BreakerState.OPEN
    else:
        state = BreakerState.HALF_OPEN
    cooldown_ms = num("cooldownMs")
    error = raw.get(b"lastError")
    return DestinationState(
        destination=dest,
        state=state,
        failures=int(raw.get(b"failures") or 0),
        queued=int(queued),
        parked=int(parked),
        open_until=None if open_until_ms is None else open_until_ms / 1000,
        cooldown_s=None if cooldown_ms is None else cooldown_ms / 1000,
        opened=int(raw.get(b"opened") or 0),
        last_error=error.decode() if error else None,
        last_error_at=num("lastErrorAt"),
        last_success_at=num("lastSuccessAt"),
        last_seen_at=float(seen or time.time()),
    )
