"""The tracing package's own rules (issue 26): reading ``traceparent``
strictly, off unless an OTLP endpoint is set, no-ops while off, trace ids in
the JSON log lines, and the hook's ``trace`` field."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from workers import tracing
from workers.errors import InvalidHook
from workers.hook_validation import validate_hook
from workers.logs import JsonFormatter
from workers.settings import Settings
from workers.tracing import setup
from workers.tracing.traceparent import parse
from workers.tracing.worker import with_traceparent

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.install(None)


def test_a_valid_traceparent_is_read() -> None:
    parent = parse(VALID)
    assert parent is not None
    assert f"{parent.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert f"{parent.span_id:016x}" == "b7ad6b7169203331" and parent.flags == 1
    assert parse(VALID.encode()) == parent
    # A later version may add fields after the flags.
    assert parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra") is not None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "00-" + "0" * 32 + "-b7ad6b7169203331-01",  # all-zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-" + "0" * 16 + "-01",  # all-zero span id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  # upper case
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # 00 with more
        "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",  # short
        b"\xff\xfe",
    ],
)
def test_a_malformed_traceparent_is_nothing(value: str | bytes | None) -> None:
    assert parse(value) is None


def test_tracing_is_on_only_with_an_otlp_endpoint() -> None:
    assert not setup.configured({})
    assert not setup.configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "})
    assert setup.configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert setup.configured(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    )


def test_start_does_nothing_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in setup.ENDPOINT_VARS:
        monkeypatch.delenv(name, raising=False)
    assert tracing.start("hooklet-test") is False
    assert setup.state.tracer is None


def test_start_honours_the_sdks_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service name and resource attributes come from OTEL_* when set;
    the export timeout is short unless the operator chose one."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "orders-hooks")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    try:
        assert tracing.start("hooklet-web") is True
        provider = setup.state.provider
        attributes = provider.resource.attributes
        assert attributes["service.name"] == "orders-hooks"
        assert attributes["deployment.environment"] == "test"
        assert provider.sampler.get_description() == "AlwaysOffSampler"
        monkeypatch.delenv("OTEL_SERVICE_NAME")
        tracing.install(None)
        tracing.start("hooklet-web")
        assert setup.state.provider.resource.attributes["service.name"] == "hooklet-web"
    finally:
        if setup.state.provider is not None:
            setup.state.provider.shutdown()
        tracing.install(None)


def test_while_off_every_helper_is_a_shared_no_op() -> None:
    assert setup.state.tracer is None
    assert tracing.now_ns() == 0
    span = tracing.intake("h", "POST", VALID, True, 0)
    assert span is tracing.NOOP and not span
    with span as active:
        assert active.job_fields() == {}
        active.job("j")
        active.answered(202)
    raw = {b"traceparent": VALID.encode(), b"hookId": b"h"}
    assert tracing.job_run("j", raw) is tracing.NOOP
    assert tracing.callback_attempt("j", raw) is tracing.NOOP
    call = tracing.host_call("fetch", "GET", "http://127.0.0.1/")
    assert call.headers({"a": "b"}) == {"a": "b"}
    call.end(200, 1, 1)
    tracing.kv_event("get")
    assert tracing.script_traceparent() is None
    assert tracing.replay_fields(VALID.encode(), "h", "j") == {}
    assert tracing.log_ids() is None


def test_outgoing_traceparent_never_replaces_the_callers_own() -> None:
    mine = "00-11111111111111111111111111111111-2222222222222222-01"
    assert with_traceparent({"a": "1"}, mine) == {"a": "1", "traceparent": mine}
    assert with_traceparent({"TraceParent": VALID}, mine) == {"TraceParent": VALID}
    assert with_traceparent([("a", "1")], mine) == [("a", "1"), ("traceparent", mine)]
    assert with_traceparent([("traceparent", VALID)], mine) == [("traceparent", VALID)]


def _json_line(message: str) -> dict:
    record = logging.LogRecord("hooklet.jobs", logging.INFO, __file__, 1, message, (), None)
    return orjson.loads(JsonFormatter().format(record))


def test_json_log_lines_carry_the_current_spans_ids(spans: InMemorySpanExporter) -> None:
    assert "trace_id" not in _json_line("outside")
    raw = {b"traceparent": VALID.encode(), b"hookId": b"h", b"attempts": b"1"}
    with tracing.job_run("j", raw) as run:
        line = _json_line("inside")
        context = run.span.get_span_context()
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert line["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in _json_line("after")


def test_a_job_without_a_traceparent_makes_no_spans(spans: InMemorySpanExporter) -> None:
    """Accepted while tracing was off, or a test run: nothing to join."""
    with tracing.job_run("j", {b"hookId": b"h"}) as run:
        assert run is tracing.NOOP
    assert tracing.callback_attempt("j", {b"hookId": b"h"}) is tracing.NOOP
    assert spans.get_finished_spans() == ()


def test_the_hooks_trace_field(fast_settings: Settings) -> None:
    hook = validate_hook("h", {"script": "1"}, fast_settings)
    assert hook.trace == {}
    assert hook.to_json()["trace"] == {"continueIncoming": False, "propagate": False}
    hook = validate_hook(
        "h", {"script": "1", "trace": {"continueIncoming": True, "propagate": False}}, fast_settings
    )
    assert hook.trace == {"continueIncoming": True}
    assert hook.to_json()["trace"] == {"continueIncoming": True, "propagate": False}
    for bad, field in (
        ({"trace": "yes"}, "trace"),
        ({"trace": {"propagate": "yes"}}, "trace.propagate"),
        ({"trace": {"sample": True}}, "trace"),
    ):
        with pytest.raises(InvalidHook) as caught:
            validate_hook("h", {"script": "1", **bad}, fast_settings)
        assert caught.value.field == field
