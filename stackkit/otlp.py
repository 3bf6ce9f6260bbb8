"""A real OTLP/HTTP trace receiver on loopback: ``POST /v1/traces`` with a
protobuf ``ExportTraceServiceRequest``, decoded with opentelemetry-proto,
as a collector would. Tests read the spans it got; ``GET /stats`` answers
how many it got. ``python -m stackkit.otlp PORT`` runs one in a process of
its own, counting only (the benchmarks' local collector)."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

__all__ = ["Collector", "Span"]

_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass
class Span:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    links: list[str] = field(default_factory=list)  # linked trace ids
    events: list[str] = field(default_factory=list)
    error: bool = False


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _attributes(items: Any) -> dict[str, Any]:
    return {item.key: _value(item.value) for item in items}


class Collector:
    """Collects every span exported to it (``endpoint`` is the base URL an
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes); with ``keep=False`` it decodes
    and counts them only."""

    def __init__(self, port: int = 0, keep: bool = True) -> None:
        self.spans: list[Span] = []
        self.requests = 0
        self.count = 0
        self.keep = keep
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                stats = {"requests": collector.requests, "spans": collector.count}
                answer = json.dumps(stats).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector._add(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _add(self, request: ExportTraceServiceRequest) -> None:
        if not self.keep:
            count = sum(
                len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans
            )
            with self._lock:
                self.requests += 1
                self.count += count
            return
        spans = []
        for resource_spans in request.resource_spans:
            service = _attributes(resource_spans.resource.attributes).get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        Span(
                            service=service,
                            name=span.name,
                            kind=_KINDS.get(span.kind, "unspecified"),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes=_attributes(span.attributes),
                            links=[link.trace_id.hex() for link in span.links],
                            events=[event.name for event in span.events],
                            error=span.status.code == 2,
                        )
                    )
        with self._lock:
            self.requests += 1
            self.count += len(spans)
            self.spans.extend(spans)

    def trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    server = Collector(int(sys.argv[1]), keep=False)
    threading.Event().wait()  # until the benchmark ends this process
