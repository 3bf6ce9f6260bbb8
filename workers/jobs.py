"""The job store: one Redis hash per event's life, ``queued -> running -> done``.

Status changes go through ``JobStore`` only. A job's hash holds small scalar
fields plus JSON blobs (``request``, ``result``, ``logs``) and the raw request
body as bytes.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import orjson
import redis

from workers import keys
from workers.metrics import encode_increment

__all__ = [
    "JobStatus",
    "Created",
    "FailureReason",
    "EventRequest",
    "Outcome",
    "JobStore",
    "new_job_id",
    "encode_body",
]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class Created(IntEnum):
    """What ``JobStore.create`` did."""

    HOOK_CHANGED = 0
    OK = 1
    SLOT_FULL = 2


class FailureReason(StrEnum):
    ERROR = "error"  # the script threw, or returned something unusable
    TIMEOUT = "timeout"  # the script ran past its time limit
    MEMORY = "memory"  # heap limit or the child's RSS cap
    CRASHED = "crashed"  # the worker child died under it, too many times
    OUTPUT = "output"  # the result body was over the limit
    HOOK_GONE = "hook_gone"  # the hook or its script version was deleted


def new_job_id() -> str:
    """128 random bits: ``/jobs/<id>`` is a capability URL."""
    return secrets.token_hex(16)


def encode_body(body: bytes) -> tuple[str, str]:
    """Body as text when it is UTF-8, else base64; returns (body, encoding)."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


@dataclass(frozen=True)
class EventRequest:
    """What the sender sent, as the script's ``context`` sees it."""

    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    headers: dict[str, str]
    client_address: str
    body: bytes

    def meta_json(self) -> bytes:
        return orjson.dumps(
            {
                "method": self.method,
                "path": self.path,
                "rawQuery": self.raw_query,
                "query": self.query,
                "headers": self.headers,
                "clientAddress": self.client_address,
            }
        )

    @classmethod
    def from_record(cls, meta: bytes, body: bytes) -> EventRequest:
        m = orjson.loads(meta)
        return cls(
            method=m["method"],
            path=m["path"],
            raw_query=m["rawQuery"],
            query=m["query"],
            headers=m["headers"],
            client_address=m["clientAddress"],
            body=body,
        )


@dataclass(frozen=True)
class Outcome:
    """How a run ended: a result, or a failure with its reason and text."""

    status: JobStatus
    duration_ms: float
    logs: list[dict[str, str]]
    result: dict[str, Any] | None = None  # statusCode, headers, body (bytes)
    reason: FailureReason | None = None
    error: str | None = None
    heap_used_bytes: int | None = None


def _now() -> float:
    return time.time()


class JobStore:
    def __init__(
        self, client: redis.Redis, retention_s: int, blocking: redis.Redis | None = None
    ) -> None:
        self._redis = client
        self._blocking = blocking or client
        self._retention_s = retention_s
        # Atomic "finish unless already final", so a reaper, a watchdog and a
        # late worker never overwrite each other's verdict.
        self._finish = client.register_script(_FINISH_LUA)
        self._start = client.register_script(_START_LUA)
        self._create = client.register_script(_CREATE_LUA)

    def create(
        self,
        job_id: str,
        hook_id: str,
        version: int,
        request: EventRequest,
        history_size: int,
        message: tuple[str, bytes],
        counter: str | None = None,
        extra: dict[str, str | int | float] | None = None,
        hook_etag: str | None = None,
        slot: tuple[str, int] | None = None,
    ) -> Created:
        """Write the job, its history entry, its task message (list key, bytes)
        and the intake counter in one atomic Redis call: all of them or none.

        Nothing is written if ``hook_etag`` is given and the stored hook no
        longer has it (``hooks.etag_of``), or if ``slot`` (a counter key, its
        maximum) is given and full; otherwise the slot is taken (INCR)."""
        fields: dict[str, Any] = {
            "id": job_id,
            "hookId": hook_id,
            "version": version,
            "status": JobStatus.QUEUED.value,
            "attempts": 0,
            "createdAt": _now(),
            "request": request.meta_json(),
            "body": request.body,
            **(extra or {}),
        }
        queue, payload = message
        pairs = [item for pair in fields.items() for item in pair]
        created = self._create(
            keys=[
                keys.job(job_id),
                keys.history(hook_id),
                queue,
                keys.metrics(),
                keys.hook(hook_id),
                slot[0] if slot else "",
            ],
            args=[
                self._retention_s,
                history_size,
                job_id,
                payload,
                counter or "",
                hook_etag or "",
                slot[1] if slot else "",
                *pairs,
            ],
        )
        return Created(created)

    def start(
        self, job_id: str, worker: str, margin_ms: int
    ) -> tuple[dict[bytes, bytes] | None, bool]:
        """Begin an attempt in one atomic step: count it and, unless the job
        already ended, mark it running with a deadline (its ``timeoutMs`` plus
        ``margin_ms``). Returns the job's fields and whether it is to be run."""
        reply = self._start(
            keys=[keys.job(job_id), keys.running()],
            args=[job_id, worker, time.time(), margin_ms],
        )
        if not reply:
            return None, False  # expired or deleted
        raw = dict(zip(reply[1::2], reply[2::2], strict=True))
        return raw, bool(reply[0])

    def finish(
        self,
        job_id: str,
        outcome: Outcome,
        then_push: tuple[str, bytes] | None = None,
        counters: Iterable[tuple[str, int | float]] = (),
        child_rss: tuple[str, str] | None = None,
    ) -> bool:
        """Record the outcome once; returns False if the job was already final.

        In the same atomic step, and only when the outcome is recorded:
        ``then_push`` (list key, message) is pushed, so the callback of an
        async hook is queued exactly when its job ends, or not at all; and the
        metric ``counters`` (field, amount) are added. ``child_rss`` (child,
        value) is stored either way."""
        key = keys.job(job_id)
        fields: dict[str, Any] = {
            "status": outcome.status.value,
            "finishedAt": _now(),
            "durationMs": round(outcome.duration_ms, 3),
            "logs": orjson.dumps(outcome.logs),
        }
        if outcome.result is not None:
            result = dict(outcome.result)
            body = result.pop("body", b"")
            fields["result"] = orjson.dumps(result)
            fields["resultBody"] = body
        if outcome.reason is not None:
            fields["reason"] = outcome.reason.value
        if outcome.error is not None:
            fields["error"] = outcome.error
        if outcome.heap_used_bytes is not None:
            fields["heapUsedBytes"] = outcome.heap_used_bytes
        push_key, message = then_push or ("", b"")
        if then_push:
            fields["deliveryStatus"] = "pending"
        pairs = [item for pair in fields.items() for item in pair]
        increments = [
            item for name, amount in counters for item in (name, encode_increment(amount))
        ]
        child, rss = child_rss or ("", "")
        done = self._finish(
            keys=[
                key,
                keys.running(),
                keys.job_done(job_id),
                push_key,
                keys.metrics(),
                keys.child_rss(),
            ],
            args=[
                job_id,
                self._retention_s,
                message,
                child,
                rss,
                len(increments) // 2,
                *increments,
                *pairs,
            ],
        )
        return bool(done)

    def get(self, job_id: str) -> dict[bytes, bytes] | None:
        raw = self._redis.hgetall(keys.job(job_id))
        return raw or None

    def record_delivery(
        self, job_id: str, attempt: dict[str, Any], status: str, next_at: float | None
    ) -> None:
        """Append a callback attempt; ``status`` is pending, succeeded or failed."""
        key = keys.job(job_id)
        raw = self._redis.hget(key, "deliveries")
        attempts = orjson.loads(raw) if raw else []
        attempts.append(attempt)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"deliveries": orjson.dumps(attempts), "deliveryStatus": status})
            if next_at is None:
                pipe.hdel(key, "deliveryNextAt")
                pipe.zrem(keys.callbacks_due(), job_id)
            else:
                pipe.hset(key, "deliveryNextAt", next_at)
                pipe.zadd(keys.callbacks_due(), {job_id: next_at})
            pipe.execute()

    def delete(self, job_id: str) -> None:
        self._redis.delete(keys.job(job_id))

    def get_many(self, job_ids: list[str]) -> list[dict[bytes, bytes]]:
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(keys.job(job_id))
            return [r for r in pipe.execute() if r]

    def history_ids(self, hook_id: str) -> list[str]:
        return [i.decode() for i in self._redis.lrange(keys.history(hook_id), 0, -1)]

    def wait(self, job_id: str, timeout_s: float) -> dict[bytes, bytes] | None:
        """Block (no polling) until the job ends or the timeout passes, then
        return its fields (None if there is no such job)."""
        got = None
        if timeout_s > 0:
            got = self._blocking.blpop([keys.job_done(job_id)], timeout=timeout_s)
        with self._redis.pipeline(transaction=False) as pipe:
            if got is not None:
                # Put the token back for any other waiter (e.g. a second poller).
                pipe.lpush(keys.job_done(job_id), b"1")
                pipe.expire(keys.job_done(job_id), 60)
            pipe.hgetall(keys.job(job_id))
            raw = pipe.execute()[-1]
        return raw or None

    def overdue(self, now: float, limit: int = 100) -> list[str]:
        ids = self._redis.zrangebyscore(keys.running(), "-inf", now, start=0, num=limit)
        return [i.decode() for i in ids]


# KEYS: job hash, history list, queue list, metrics hash, hook hash, slot
# counter ('' for none).
# ARGV: retention, history size, job id, task message, counter field ('' for
# none), the hook's expected etag ('' for no check), the slot's maximum, then
# the job's field/value pairs. Returns a ``Created`` value; only OK writes.
_CREATE_LUA = """
if ARGV[6] ~= '' then
  local def = redis.call('HGET', KEYS[5], 'def')
  if not def or redis.sha1hex(def) ~= ARGV[6] then return 0 end
end
if KEYS[6] ~= '' then
  if redis.call('INCR', KEYS[6]) > tonumber(ARGV[7]) then
    redis.call('DECR', KEYS[6])
    return 2
  end
  redis.call('EXPIRE', KEYS[6], 3600)
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[1], ARGV[1])
local history = tonumber(ARGV[2])
if history > 0 then
  redis.call('LPUSH', KEYS[2], ARGV[3])
  redis.call('LTRIM', KEYS[2], 0, history - 1)
end
redis.call('LPUSH', KEYS[3], ARGV[4])
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[5], 1) end
return 1
"""

# KEYS: job hash, running zset. ARGV: job id, worker, now (s), margin (ms).
# Returns {} for a missing job, else {run?, field, value, ...}.
_START_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local status = redis.call('HGET', KEYS[1], 'status')
local run = 0
if status ~= 'succeeded' and status ~= 'failed' then
  run = 1
  local timeout_ms = tonumber(redis.call('HGET', KEYS[1], 'timeoutMs') or '60000')
  local deadline = tonumber(ARGV[3]) + (timeout_ms + tonumber(ARGV[4])) / 1000
  redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[3], 'worker', ARGV[2])
  redis.call('ZADD', KEYS[2], deadline, ARGV[1])
end
local reply = redis.call('HGETALL', KEYS[1])
table.insert(reply, 1, run)
return reply
"""

# KEYS: job hash, running zset, done list, list to push to ('' for none),
# metrics hash, child RSS hash.
# ARGV: job id, retention, message to push, child ('' for none), its RSS,
# the number N of counters, N counter/amount pairs, then field/value pairs.
_FINISH_LUA = """
if ARGV[4] ~= '' then redis.call('HSET', KEYS[6], ARGV[4], ARGV[5]) end
local status = redis.call('HGET', KEYS[1], 'status')
if status == false or status == 'succeeded' or status == 'failed' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
local fields_from = 7 + 2 * tonumber(ARGV[6])
for i = fields_from, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
if KEYS[4] ~= '' then redis.call('LPUSH', KEYS[4], ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], '1')
redis.call('EXPIRE', KEYS[3], 60)
-- Metrics last, and with pcall: a script that errors is not rolled back, so
-- a bad counter must never cut the job's own writes short.
for i = 7, fields_from - 1, 2 do
  if string.find(ARGV[i + 1], '.', 1, true) then
    redis.pcall('HINCRBYFLOAT', KEYS[5], ARGV[i], ARGV[i + 1])
  else
    redis.pcall('HINCRBY', KEYS[5], ARGV[i], ARGV[i + 1])
  end
end
return 1
"""


def _text(raw: dict[bytes, bytes], name: str) -> str | None:
    value = raw.get(name.encode())
    return None if value is None else value.decode()


def _number(raw: dict[bytes, bytes], name: str) -> float | None:
    value = raw.get(name.encode())
    return None if value is None else float(value)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def render_job(raw: dict[bytes, bytes], *, with_request: bool = True) -> dict[str, Any]:
    """The public JSON view of a job, as ``GET /jobs/<id>`` returns it."""
    view: dict[str, Any] = {
        "jobId": _text(raw, "id"),
        "hookId": _text(raw, "hookId") or None,
        "status": _text(raw, "status"),
        "reason": _text(raw, "reason"),
        "error": _text(raw, "error"),
        "scriptVersion": int(raw[b"version"]) if raw.get(b"version") else None,
        "attempts": int(raw.get(b"attempts", b"0")),
        "worker": _text(raw, "worker"),
        "createdAt": _iso(_number(raw, "createdAt")),
        "startedAt": _iso(_number(raw, "startedAt")),
        "finishedAt": _iso(_number(raw, "finishedAt")),
        "durationMs": _number(raw, "durationMs"),
        "logs": orjson.loads(raw[b"logs"]) if b"logs" in raw else [],
        "result": None,
    }
    if b"result" in raw:
        result = orjson.loads(raw[b"result"])
        body, encoding = encode_body(raw.get(b"resultBody", b""))
        view["result"] = {**result, "body": body, "bodyEncoding": encoding}
    if b"deliveryStatus" in raw:
        view["delivery"] = {
            "status": _text(raw, "deliveryStatus"),
            "attempts": orjson.loads(raw[b"deliveries"]) if b"deliveries" in raw else [],
            "nextAttemptAt": _iso(_number(raw, "deliveryNextAt")),
        }
    for name in ("replayOf",):
        if name.encode() in raw:
            view[name] = _text(raw, name)
    if with_request and b"request" in raw:
        request = orjson.loads(raw[b"request"])
        body, encoding = encode_body(raw.get(b"body", b""))
        view["request"] = {**request, "body": body, "bodyEncoding": encoding}
    return view
