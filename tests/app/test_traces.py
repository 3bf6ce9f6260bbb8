"""One event, one trace (issue 26), in the fast layer: the intake in
Flask's test client, the job run by the executor in this process, callbacks
by the deliverer, against a real redis-server and a local upstream; spans
caught by the SDK's in-memory exporter."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import orjson
import pytest
from flask.testing import FlaskClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from stackkit.upstream import Upstream
from tests.support.fast import put_hook, send
from tests.support.receiver import Receiver, Reply
from workers import tracing
from workers.delivery.callbacks import Deliverer
from workers.queue.executor import Executor
from workers.settings import Settings

INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
INCOMING_TRACE = int("0af7651916cd43dd8448eb211c80319c", 16)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.install(None)


@pytest.fixture(scope="module")
def local_settings(fast_settings: Settings) -> Settings:
    """Scripts may fetch the local upstream (the egress guard refuses loopback otherwise)."""
    return dataclasses.replace(fast_settings, egress_allowlist=("127.0.0.1",))


@pytest.fixture(scope="module")
def runner(local_settings: Settings) -> Iterator[Executor]:
    executor = Executor(local_settings)
    yield executor
    executor.pool.clear()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def by_name(exporter: InMemorySpanExporter, name: str) -> list:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def one(exporter: InMemorySpanExporter, name: str):  # noqa: ANN201 - an SDK ReadableSpan
    found = by_name(exporter, name)
    assert len(found) == 1, [s.name for s in exporter.get_finished_spans()]
    return found[0]


def run(runner: Executor, client: FlaskClient, job_id: str) -> dict:
    runner.run_job(job_id, f"tests/{os.getpid()}")
    return client.get(f"/jobs/{job_id}").json


FETCH_ECHO = """(async () => {
  const answer = await fetch('%s/echo?secret=1', {method: 'POST', body: 'hi'});
  await secutils.kv.set('seen', 'MQ');
  await secutils.kv.get('seen');
  const echoed = await answer.json();
  return {body: {traceparent: context.traceparent || null,
                 upstreamSaw: echoed.headers.traceparent || null}};
})()"""


def test_an_async_event_is_one_trace_from_the_intake_to_the_run_and_its_fetch(
    client: FlaskClient, admin: dict, hook_id: str, spans, runner, upstream: Upstream
) -> None:
    put_hook(client, admin, hook_id, script=FETCH_ECHO % upstream.url)
    answer = send(client, hook_id, data=b"{}")
    assert answer.status_code == 202
    job_id = answer.json["jobId"]
    intake = one(spans, "POST /h/{hook}")
    assert intake.kind is SpanKind.SERVER and intake.parent is None
    attributes = dict(intake.attributes)
    # The hook's project, once hooks have one (a hook created without: "default").
    assert attributes.pop("hooklet.project", "default") == "default"
    assert attributes == {
        "http.request.method": "POST",
        "http.route": "/h/{hook}",
        "hooklet.hook.id": hook_id,
        "hooklet.job.id": job_id,
        "http.response.status_code": 202,
    }

    job = run(runner, client, job_id)
    assert job["status"] == "succeeded", (job["error"], job["logs"])
    trace_id = intake.context.trace_id
    assert job["traceId"] == f"{trace_id:032x}"

    queued, ran = one(spans, "hooklet.queued"), one(spans, "hooklet.run")
    for span in (queued, ran):
        assert span.context.trace_id == trace_id
        assert span.parent.span_id == intake.context.span_id
    assert queued.start_time <= queued.end_time <= ran.start_time
    assert ran.kind is SpanKind.CONSUMER
    assert ran.attributes["hooklet.job.id"] == job_id
    assert ran.attributes["hooklet.script.version"] == 1
    assert ran.attributes["hooklet.job.outcome"] == "succeeded"
    assert ran.attributes["hooklet.script.duration_ms"] > 0
    assert ran.attributes["hooklet.script.heap_used_bytes"] > 0
    assert ran.status.status_code is StatusCode.UNSET
    assert [e.name for e in ran.events] == ["kv.set", "kv.get"]

    fetch = one(spans, "POST")
    assert fetch.kind is SpanKind.CLIENT
    assert fetch.parent.span_id == ran.context.span_id
    assert fetch.attributes["url.full"] == f"{upstream.url}/echo"  # no query
    assert fetch.attributes["http.request.method"] == "POST"
    assert fetch.attributes["http.response.status_code"] == 200
    assert fetch.attributes["http.request.body.size"] == 2
    assert fetch.attributes["http.response.body.size"] > 0

    body = orjson.loads(client.get(f"/jobs/{job_id}").json["result"]["body"])
    # The script sees its run's context; the upstream sees none by default.
    assert body["traceparent"].startswith(f"00-{trace_id:032x}-{ran.context.span_id:016x}-")
    assert body["upstreamSaw"] is None


def test_propagate_sends_the_fetch_spans_traceparent_upstream(
    client: FlaskClient, admin: dict, hook_id: str, spans, runner, upstream: Upstream
) -> None:
    put_hook(client, admin, hook_id, script=FETCH_ECHO % upstream.url, trace={"propagate": True})
    job_id = send(client, hook_id, data=b"{}").json["jobId"]
    job = run(runner, client, job_id)
    fetch = one(spans, "POST")
    expected = f"00-{fetch.context.trace_id:032x}-{fetch.context.span_id:016x}-"
    assert orjson.loads(job["result"]["body"])["upstreamSaw"].startswith(expected)


def test_a_failed_run_says_why_on_its_span(
    client: FlaskClient, admin: dict, hook_id: str, spans, runner
) -> None:
    put_hook(client, admin, hook_id, script="(() => { throw new Error('no'); })()")
    job = run(runner, client, send(client, hook_id).json["jobId"])
    assert job["status"] == "failed"
    ran = one(spans, "hooklet.run")
    assert ran.attributes["hooklet.job.outcome"] == "failed"
    assert ran.attributes["hooklet.job.failure_reason"] == "error"
    assert ran.status.status_code is StatusCode.ERROR


def test_an_incoming_traceparent_is_a_link_by_default(
    client: FlaskClient, admin: dict, hook_id: str, spans
) -> None:
    put_hook(client, admin, hook_id, script="1")
    send(client, hook_id, headers={"traceparent": INCOMING})
    intake = one(spans, "POST /h/{hook}")
    assert intake.parent is None and intake.context.trace_id != INCOMING_TRACE
    assert [link.context.trace_id for link in intake.links] == [INCOMING_TRACE]


def test_continue_incoming_joins_the_callers_trace(
    client: FlaskClient, admin: dict, hook_id: str, spans
) -> None:
    put_hook(client, admin, hook_id, script="1", trace={"continueIncoming": True})
    job_id = send(client, hook_id, headers={"traceparent": INCOMING}).json["jobId"]
    intake = one(spans, "POST /h/{hook}")
    assert intake.context.trace_id == INCOMING_TRACE and not intake.links
    assert intake.parent.span_id == int("b7ad6b7169203331", 16)
    assert client.get(f"/jobs/{job_id}").json["traceId"] == f"{INCOMING_TRACE:032x}"


def test_a_malformed_traceparent_is_ignored(
    client: FlaskClient, admin: dict, hook_id: str, spans
) -> None:
    put_hook(client, admin, hook_id, script="1", trace={"continueIncoming": True})
    answer = send(
        client, hook_id, headers={"traceparent": "00-" + "0" * 32 + "-b7ad6b7169203331-01"}
    )
    assert answer.status_code == 202
    intake = one(spans, "POST /h/{hook}")
    assert intake.parent is None and not intake.links


def test_a_refused_event_ends_its_span_with_its_status(
    client: FlaskClient, admin: dict, hook_id: str, spans
) -> None:
    """A refused event still ends its span, with the status it got."""
    put_hook(client, admin, hook_id, script="1", methods=["GET"])
    assert send(client, hook_id).status_code == 405
    intake = one(spans, "POST /h/{hook}")
    assert intake.attributes["http.response.status_code"] == 405
    assert intake.attributes["error.type"] == "method_not_allowed"
    assert intake.status.status_code is StatusCode.UNSET  # a client error is not the server's


def test_a_replay_starts_a_new_trace_linked_to_the_original(
    client: FlaskClient, admin: dict, hook_id: str, spans, runner
) -> None:
    put_hook(client, admin, hook_id, script="1")
    original = send(client, hook_id).json["jobId"]
    run(runner, client, original)
    first = client.get(f"/jobs/{original}").json["traceId"]
    replayed = client.post(f"/api/jobs/{original}/replay", headers=admin)
    assert replayed.status_code in (200, 201, 202), replayed.text
    new_id = replayed.json["jobId"]
    job = run(runner, client, new_id)
    assert job["traceId"] != first
    replay = one(spans, "hooklet.replay")
    assert [f"{link.context.trace_id:032x}" for link in replay.links] == [first]
    runs = {s.attributes["hooklet.job.id"]: s for s in by_name(spans, "hooklet.run")}
    assert runs[new_id].parent.span_id == replay.context.span_id


def test_each_callback_attempt_is_a_client_span_in_the_jobs_trace(
    client: FlaskClient, admin: dict, hook_id: str, spans, runner, local_settings: Settings
) -> None:
    receiver = Receiver()
    try:
        receiver.plan = [Reply(status=500)]
        put_hook(client, admin, hook_id, script="1", callbackUrl=receiver.url,
                 trace={"propagate": True})  # fmt: skip
        job_id = send(client, hook_id).json["jobId"]
        run(runner, client, job_id)
        deliverer = Deliverer(local_settings)
        deliverer.deliver(job_id)
        deliverer.deliver(job_id)
    finally:
        receiver.close()
    intake = one(spans, "POST /h/{hook}")
    attempts = sorted(
        (s for s in by_name(spans, "POST") if s.attributes.get("hooklet.callback.attempt")),
        key=lambda s: s.attributes["hooklet.callback.attempt"],
    )
    assert [s.attributes["hooklet.callback.attempt"] for s in attempts] == [1, 2]
    assert [s.attributes["http.response.status_code"] for s in attempts] == [500, 200]
    assert [s.status.status_code for s in attempts] == [StatusCode.ERROR, StatusCode.UNSET]
    for span, got in zip(attempts, receiver.for_job(job_id), strict=True):
        assert span.kind is SpanKind.CLIENT
        assert span.context.trace_id == intake.context.trace_id
        assert span.attributes["url.full"] == receiver.url
        assert got.headers["traceparent"].split("-")[2] == f"{span.context.span_id:016x}"


def test_callbacks_carry_no_traceparent_unless_the_hook_propagates(
    client: FlaskClient, admin: dict, hook_id: str, spans, runner, local_settings: Settings
) -> None:
    receiver = Receiver()
    try:
        put_hook(client, admin, hook_id, script="1", callbackUrl=receiver.url)
        job_id = send(client, hook_id).json["jobId"]
        run(runner, client, job_id)
        Deliverer(local_settings).deliver(job_id)
    finally:
        receiver.close()
    (got,) = receiver.for_job(job_id)
    assert "traceparent" not in got.headers
    assert len(by_name(spans, "POST")) == 1  # the attempt is traced all the same


def test_with_tracing_off_a_job_has_no_trace_id(
    client: FlaskClient, admin: dict, hook_id: str, runner
) -> None:
    put_hook(client, admin, hook_id, script="(() => ({body: String(context.traceparent)}))()")
    job = run(runner, client, send(client, hook_id).json["jobId"])
    assert "traceId" not in job
    assert job["result"]["body"] == "undefined"
