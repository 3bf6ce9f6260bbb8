"""What a script's host calls do: ``op_proxy_request`` and ``fetch`` through
the egress guard, ``secutils.kv``, ``seal`` and ``crypto.subtle``, with the
per-run limits (requests, bytes each way, KV operations) and a record of
every outbound request for the job and /metrics.

One ``HostCalls`` serves one run; ``bridge.serve_calls`` calls ``handle``.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from workers import tracing
from workers.delivery.egress import loggable_url
from workers.delivery.outbound import (
    OutboundError,
    OutboundResponse,
    Transfer,
    UpstreamTimeout,
    send,
)
from workers.sandbox import crypto
from workers.sandbox.bridge import HostCallError, HostReply
from workers.settings import Settings
from workers.store.kv.store import KvError, KvQuotas, KvStore

__all__ = ["HostCalls"]

_FETCH_REDIRECTS = 20  # the fetch standard's limit; each hop passes the guard


class HostCalls:
    def __init__(self, settings: Settings, client: redis.Redis | None, hook_id: str) -> None:
        self.settings = settings
        self._client = client
        self._hook_id = hook_id
        self._kv: KvStore | None = None
        self.kv_ops = 0
        self.requests = 0
        # Body bytes sent and received by every request and redirect hop.
        self.transfer = Transfer(
            settings.script_max_received_bytes, settings.script_max_request_bytes
        )
        self.records: list[dict[str, Any]] = []

    def handle(self, op: str, args: Any, body: bytes | None, deadline: float) -> HostReply:
        # The runtime builds ``args``, but through builtins the script can
        # replace (Array.prototype.push, toJSON): any JSON value may arrive.
        fields: dict[str, Any] = args if isinstance(args, dict) else {}
        if op in ("proxy", "fetch"):
            return self._outbound(op, fields, body, deadline)
        if op.startswith("kv."):
            return HostReply(self._kv_call(op[3:], args, deadline))
        if op == "crypto.seal":
            try:
                return HostReply(
                    crypto.seal(str(fields.get("key", "")), str(fields.get("plaintext", "")))
                )
            except crypto.SealError as exc:
                raise HostCallError(str(exc)) from exc
        if op in ("crypto.digest", "crypto.hmac"):
            return HostReply(body=self._hash(op, args, body or b""))
        raise HostCallError(f"unknown host call {op!r}", "TypeError")

    # --- KV -------------------------------------------------------------------
    def _kv_call(self, op: str, args: Any, deadline: float) -> Any:
        self.kv_ops += 1  # counted before anything, as secutils does
        tracing.kv_event(op)  # an event on the run's span (tracing on)
        if self.kv_ops > self.settings.kv_ops_per_run:
            raise HostCallError("Responder KV operation budget exhausted.")
        if self._client is None or not self._hook_id:
            raise HostCallError("KV storage is not available for this responder.")
        kv = self._kv or self._open_kv()
        args = args if isinstance(args, dict) else {}
        try:
            if op == "get":
                return kv.get_entry(str(args.get("key", "")))
            if op == "set":
                kv.set(str(args.get("key", "")), str(args.get("value", "")), args.get("opts"))
                return None
            if op == "delete":
                return kv.delete(str(args.get("key", "")))
            if op == "list":
                return kv.list(args)
            if op == "watch":
                # secutils leaves a second for the script to use what it got.
                return kv.watch(args, deadline - 1.0)
        except KvError as exc:
            error_type = "TypeError" if str(exc).startswith("missing field") else "Error"
            raise HostCallError(str(exc), error_type) from exc
        except redis.RedisError as exc:
            raise HostCallError(f"KV database error: {exc}") from exc
        raise HostCallError(f"unknown KV call {op!r}", "TypeError")

    def _open_kv(self) -> KvStore:
        s = self.settings
        quotas = KvQuotas(
            s.kv_max_key_bytes, s.kv_max_value_bytes, s.kv_max_entries, s.kv_max_total_bytes,
            s.kv_max_ttl_s,
        )  # fmt: skip
        assert self._client is not None
        self._kv = KvStore(self._client, self._hook_id, quotas)
        return self._kv

    # --- crypto -----------------------------------------------------------------
    def _hash(self, op: str, args: Any, body: bytes) -> bytes:
        name = args.get("hash") if isinstance(args, dict) else None
        if not crypto.hash_known(name):
            raise HostCallError(f"NotSupportedError: unsupported hash {name!r}")
        if op == "crypto.digest":
            return crypto.digest(name, body)
        key_length = args.get("keyLength")
        if not isinstance(key_length, int) or not 0 < key_length <= len(body):
            raise HostCallError("DataError: bad HMAC key")
        return crypto.hmac_sign(name, body[:key_length], body[key_length:])

    # --- outbound requests ----------------------------------------------------------
    def _outbound(
        self, op: str, args: dict[str, Any], body: bytes | None, deadline: float
    ) -> HostReply:
        s = self.settings
        url = args.get("url")
        if not isinstance(url, str):
            raise HostCallError("missing field `url`", "TypeError")
        if "://" not in url:
            raise HostCallError(f"Invalid URL '{url}': relative URL without a base")
        method = args.get("method", "GET")
        body = body or None
        record: dict[str, Any] = {"op": op, "method": str(method)[:16], "url": loggable_url(url)}
        if self.requests >= s.script_max_requests:
            raise self._refuse(record, "limit", f"Outbound request limit reached: "
                               f"{s.script_max_requests} requests per run.")  # fmt: skip
        transfer = self.transfer
        if body is not None and transfer.sent_total + len(body) > s.script_max_request_bytes:
            raise self._refuse(record, "limit", "Outbound request bytes limit reached: "
                               f"{s.script_max_request_bytes} bytes per run.")  # fmt: skip
        if transfer.spent():
            raise self._refuse(record, "limit", str(transfer.received_over()))
        sent, received = transfer.sent, transfer.received
        timeout_ms = args.get("timeout")
        limit_s = s.script_max_request_timeout_ms / 1000
        if isinstance(timeout_ms, (int, float)) and not isinstance(timeout_ms, bool):
            limit_s = min(limit_s, max(0.0, timeout_ms / 1000))
        timeout_s = min(limit_s, deadline - time.monotonic())
        follow = op == "fetch" and args.get("redirect", "follow") == "follow"
        self.requests += 1
        started = time.monotonic()
        span = tracing.host_call(op, record["method"], record["url"])  # a client span
        try:
            if timeout_s <= 0:
                raise UpstreamTimeout("Upstream request timed out: the script's time is up")
            response = send(
                str(method),
                url,
                headers=span.headers(_header_pairs(args.get("headers"))),
                body=body,
                timeout_s=timeout_s,
                max_response_bytes=s.script_max_response_bytes,
                transfer=transfer,
                allowlist=s.egress_allowlist,
                insecure=args.get("insecure") is True,
                max_redirects=_FETCH_REDIRECTS if follow else 0,
                decompress=args.get("decompress", True) is not False,
            )
        except OutboundError as exc:  # before ValueError: EgressRefused is both
            record.update(bytesOut=transfer.sent - sent, bytesIn=transfer.received - received)
            span.end(None, record["bytesIn"], record["bytesOut"], _outcome(exc))
            raise self._refuse(record, _outcome(exc), str(exc), started) from exc
        except ValueError as exc:  # a bad method or header: the script's input
            span.end(error="invalid")
            raise self._refuse(record, "invalid", str(exc), started) from exc
        record.update(status=response.status, outcome="ok", durationMs=_ms(started),
                      bytesOut=transfer.sent - sent,
                      bytesIn=transfer.received - received)  # fmt: skip
        span.end(response.status, record["bytesIn"], record["bytesOut"])
        self.records.append(record)
        if op == "fetch":
            if args.get("redirect") == "error" and 300 <= response.status < 400:
                raise HostCallError("fetch failed: redirect mode is 'error'", "TypeError")
            value = {"status": response.status, "headers": response.headers, "url": response.url}
            return HostReply(value, response.body)
        return HostReply(_proxy_response(response, args), response.body)

    def _refuse(
        self, record: dict[str, Any], outcome: str, message: str, started: float | None = None
    ) -> HostCallError:
        record.update(outcome=outcome, error=message[:300])
        if started is not None:
            record["durationMs"] = _ms(started)
        self.records.append(record)
        return HostCallError(message, "TypeError" if outcome == "invalid" else "Error")


def _header_pairs(raw: Any) -> dict[str, Any] | list[tuple[Any, Any]]:
    """A call's headers as ``send`` takes them: an object, or [name, value]
    pairs; ``send`` then checks each name and value."""
    if not raw:
        return {}
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, list) and all(isinstance(p, list) and len(p) == 2 for p in raw):
        return [(name, value) for name, value in raw]
    raise ValueError("headers must be an object or a list of [name, value] pairs")


def _proxy_response(response: OutboundResponse, args: dict[str, Any]) -> dict[str, Any]:
    """secutils' ProxyResponse: lower-case names, the last of repeated headers,
    content-length kept as x-original-content-length, and a decoded body's
    content-encoding as x-original-content-encoding."""
    headers: dict[str, str] = {}
    for name, value in response.headers:
        headers[name.lower()] = value
    if "content-length" in headers:
        headers["x-original-content-length"] = headers.pop("content-length")
    encoding = headers.get("content-encoding")
    decoded = ("gzip", "x-gzip", "deflate", "br", "zstd")
    if args.get("decompress", True) is not False and encoding is not None:
        if encoding.strip().lower() in decoded:
            headers["x-original-content-encoding"] = headers.pop("content-encoding")
    return {"statusCode": response.status, "headers": headers}


def _outcome(exc: OutboundError) -> str:
    name = type(exc).__name__
    return {
        "EgressRefused": "refused",
        "UnresolvableHost": "refused",
        "UpstreamTimeout": "timeout",
        "UpstreamTooLarge": "too_large",
        "TransferLimitReached": "limit",
    }.get(name, "failed")


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
