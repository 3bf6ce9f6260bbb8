"""Turning tracing on in one process, after fork, from the OpenTelemetry
SDK's own environment variables.

Tracing is on when ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (decided once, at ``start``); the
SDK reads the rest itself (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER[_ARG]``, ``OTEL_EXPORTER_OTLP_*``, ``OTEL_BSP_*``).
Spans go through a ``BatchSpanProcessor``: ending a span only appends it to a
bounded queue, a background thread (a greenlet under gevent) exports them,
and a full queue drops spans. With a short export timeout, a collector that
is down or slow costs an event nothing.

``start`` runs in each process that makes spans, after it forked (a thread
does not survive ``fork``): a gunicorn worker (``post_worker_init``, once
gevent has patched), a Celery prefork child (``worker_process_init``), or a
node whose pool runs in its main process (threads: the callbacks node).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["configured", "install", "start", "flush", "state"]

log = logging.getLogger("hooklet.tracing")

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
TIMEOUT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
# The SDK's default is 10 s per export; a down collector should not keep the
# exporting thread that long (spans queue meanwhile, and drop when full).
DEFAULT_EXPORT_TIMEOUT_S = 2.0
FLUSH_TIMEOUT_MS = 1000  # at a process's exit: never hold a shutdown longer


class _State:
    """This process's tracer: None while tracing is off (the span helpers
    then return at once)."""

    tracer: Any = None
    provider: Any = None
    pid: int = 0


state = _State()


def configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for traces (an OTLP endpoint is set)."""
    env = os.environ if environ is None else environ
    return any(env.get(name, "").strip() for name in ENDPOINT_VARS)


def start(service: str) -> bool:
    """Turn tracing on in this process if the environment asks for it;
    ``service`` is the default ``service.name`` (``OTEL_SERVICE_NAME`` or
    ``OTEL_RESOURCE_ATTRIBUTES`` win). Idempotent per process."""
    if state.tracer is not None and state.pid == os.getpid():
        return True
    if not configured():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from workers.tracing.resource import process_resource

    protocol = next((os.environ[n] for n in PROTOCOL_VARS if os.environ.get(n)), "http/protobuf")
    if protocol.strip() != "http/protobuf":
        log.warning("OTLP protocol %r is not supported; exporting with http/protobuf", protocol)
    timeout_s = None if any(os.environ.get(n) for n in TIMEOUT_VARS) else DEFAULT_EXPORT_TIMEOUT_S
    provider = TracerProvider(resource=process_resource(service), shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(timeout=timeout_s)))
    install(provider)
    log.info("tracing on", extra={"event": "tracing_started", "service": service})
    return True


def install(provider: Any | None) -> None:
    """Make ``provider`` (an SDK ``TracerProvider``) this process's, or turn
    tracing off with None. Tests install one with an in-memory exporter."""
    state.provider = provider
    state.tracer = None if provider is None else provider.get_tracer("hooklet")
    state.pid = os.getpid()


def flush(timeout_ms: int = FLUSH_TIMEOUT_MS) -> None:
    """Export what is queued, waiting at most ``timeout_ms`` (a process's
    exit: a down collector must not hold it)."""
    provider = state.provider
    if provider is not None and state.pid == os.getpid():
        try:
            provider.force_flush(timeout_ms)
        except Exception:  # noqa: BLE001 - never fail an exit over traces
            log.warning("could not flush traces", exc_info=True)
