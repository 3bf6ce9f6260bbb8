"""This process's OpenTelemetry resource, hashed once.

The OTLP encoder groups each exported span by its resource, and the SDK's
``Resource.__hash__`` serialises every attribute to JSON each time: about a
third of the export's CPU per span here. A process's resource never
changes, so its hash is worked out when it is made. Imported only when
tracing starts (it imports the SDK)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, Resource

__all__ = ["process_resource"]


class _HashedResource(Resource):
    def __init__(self, attributes: Any, schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other)


def process_resource(service: str) -> Resource:
    """The SDK's resource (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``
    and its own detectors), with ``service`` as the name unless one was set."""
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service}))
    return _HashedResource(resource.attributes, resource.schema_url)
