"""One event, one trace, across real processes (issue 26): gunicorn's
intake, a Celery child's run and its fetch to a local upstream, and the
callbacks node's attempts, exported over OTLP/HTTP to a real receiver on
loopback that decodes the protobuf. And with the collector down for a whole
stack, events still succeed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackkit.otlp import Collector, Span
from stackkit.processes import free_port
from stackkit.upstream import Upstream
from tests.support.receiver import Receiver, Reply
from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until

pytestmark = pytest.mark.stack

INCOMING_TRACE = "0af7651916cd43dd8448eb211c80319c"
INCOMING_SPAN = "b7ad6b7169203331"
INCOMING = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"

FETCH = """(async () => {
  const echoed = await (await fetch('%s/echo?token=secret')).json();
  await secutils.kv.set('n', 'MQ');
  return {body: {upstreamSaw: echoed.headers.traceparent || null,
                 seen: context.traceparent || null}};
})()"""


class Stack:
    """Redis, gunicorn, a script worker and a callbacks node, all exporting to ``endpoint``."""

    def __init__(self, workdir: Path, endpoint: str) -> None:
        self.redis = RedisServer(workdir).start()
        env = hooklet_env(self.redis.url, egress_allowlist="127.0.0.1", web_workers=1)
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="200")
        self.started: list = []
        try:
            self.web = self._start(Web(env, workdir))
            self.worker = self._start(Worker(env, workdir, name="traced", concurrency=1))
            self.callbacks = self._start(
                Worker(env, workdir, name="traced-cb", queues="callbacks", pool="threads")
            )
        except BaseException:
            self.stop()
            raise
        self.api = Api(self.web.url)

    def _start(self, process):  # noqa: ANN001, ANN202 - Web or Worker
        self.started.append(process.start())
        return process

    def stop(self) -> None:
        for process in reversed(self.started):
            process.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    server = Collector()
    yield server
    server.close()


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, collector: Collector) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("traced"), collector.endpoint)
    yield stack
    stack.stop()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def delivered(api: Api, job_id: str) -> dict:
    return wait_until(
        lambda: (d := api.job(job_id).get("delivery")) and d["status"] == "succeeded" and d,
        timeout_s=30,
        what="the callback delivered",
    )


def spans_of(collector: Collector, trace_id: str, wanted: int) -> list[Span]:
    return wait_until(
        lambda: len(s := collector.trace(trace_id)) >= wanted and s,
        timeout_s=30,
        what=f"{wanted} spans of trace {trace_id}",
    )


def named(spans: list[Span], name: str) -> list[Span]:
    return [s for s in spans if s.name == name]


def test_one_trace_from_the_intake_through_the_run_and_its_fetch_to_each_callback_attempt(
    traced: Stack, collector: Collector, upstream: Upstream, hook_id: str
) -> None:
    receiver = Receiver()
    receiver.plan = [Reply(status=500)]  # the first attempt fails, the retry is delivered
    try:
        traced.api.put_hook(
            hook_id,
            script=FETCH % upstream.url,
            callbackUrl=receiver.url,
            trace={"propagate": True},
        )
        job = traced.api.run(hook_id, headers={"traceparent": INCOMING}, json={})
        assert job["status"] == "succeeded", job
        attempts = delivered(traced.api, job["jobId"])["attempts"]
        assert [a["statusCode"] for a in attempts] == [500, 200]
        got = receiver.for_job(job["jobId"])
    finally:
        receiver.close()
    trace_id = job["traceId"]
    assert trace_id != INCOMING_TRACE  # a link by default, not the caller's trace
    # intake, queued, run, fetch, two callback attempts
    spans = spans_of(collector, trace_id, 6)

    (intake,) = named(spans, "POST /h/{hook}")
    assert intake.service == "hooklet-web" and intake.kind == "server"
    assert intake.parent_id == "" and intake.links == [INCOMING_TRACE]
    assert intake.attributes["http.route"] == "/h/{hook}"
    assert intake.attributes["http.request.method"] == "POST"
    assert intake.attributes["http.response.status_code"] == 202
    assert intake.attributes["hooklet.hook.id"] == hook_id
    assert intake.attributes["hooklet.job.id"] == job["jobId"]
    (queued,) = named(spans, "hooklet.queued")
    (run,) = named(spans, "hooklet.run")
    assert queued.parent_id == run.parent_id == intake.span_id
    assert run.service == "hooklet-worker" and run.kind == "consumer"
    assert run.attributes["hooklet.job.outcome"] == "succeeded"
    assert run.attributes["hooklet.script.version"] == 1
    assert run.events == ["kv.set"]

    fetch = [s for s in spans if s.name == "GET"]
    assert len(fetch) == 1 and fetch[0].parent_id == run.span_id and fetch[0].kind == "client"
    assert fetch[0].attributes["url.full"] == f"{upstream.url}/echo"
    assert fetch[0].attributes["http.response.status_code"] == 200
    # propagate: the upstream got the fetch span's context, the script its run's
    body = json.loads(traced.api.job(job["jobId"])["result"]["body"])
    assert body["upstreamSaw"].startswith(f"00-{trace_id}-{fetch[0].span_id}-")
    assert body["seen"].startswith(f"00-{trace_id}-{run.span_id}-")

    callbacks = sorted(
        (s for s in spans if "hooklet.callback.attempt" in s.attributes),
        key=lambda s: s.attributes["hooklet.callback.attempt"],
    )
    assert [s.attributes["hooklet.callback.attempt"] for s in callbacks] == [1, 2]
    assert [s.attributes["http.response.status_code"] for s in callbacks] == [500, 200]
    assert [s.error for s in callbacks] == [True, False]
    assert all(s.parent_id == intake.span_id and s.kind == "client" for s in callbacks)
    assert [r.headers["traceparent"].split("-")[2] for r in got] == [s.span_id for s in callbacks]

    # The JSON log lines of the worker and the callbacks carry the trace.
    assert f'"trace_id":"{trace_id}"' in traced.worker.log()
    assert f'"trace_id":"{trace_id}"' in traced.callbacks.log()


def test_continue_incoming_joins_the_callers_trace_and_nothing_propagates_by_default(
    traced: Stack, collector: Collector, upstream: Upstream, hook_id: str
) -> None:
    """A sync hook: the caller's trace, the run in it, and no traceparent upstream."""
    traced.api.put_hook(
        hook_id,
        mode="sync",
        script=FETCH % upstream.url,
        trace={"continueIncoming": True},
        debugHeaders=True,
    )
    answer = traced.api.send(hook_id, headers={"traceparent": INCOMING}, json={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["upstreamSaw"] is None
    job = traced.api.job(answer.headers["X-Hooklet-Job"])
    assert job["traceId"] == INCOMING_TRACE
    spans = spans_of(collector, INCOMING_TRACE, 4)
    (intake,) = [s for s in spans if s.attributes.get("hooklet.job.id") == job["jobId"]
                 and s.kind == "server"]  # fmt: skip
    assert intake.parent_id == INCOMING_SPAN and intake.links == []
    assert intake.attributes["http.response.status_code"] == 200
    (run,) = [
        s for s in named(spans, "hooklet.run") if s.attributes["hooklet.job.id"] == job["jobId"]
    ]
    assert run.parent_id == intake.span_id


def test_with_the_collector_down_for_a_whole_stack_events_still_succeed(
    tmp_path: Path, hook_id: str
) -> None:
    nothing_there = f"http://127.0.0.1:{free_port()}"
    stack = Stack(tmp_path, nothing_there)
    receiver = Receiver()
    try:
        stack.api.put_hook(hook_id, script="({body: 'ok'})", callbackUrl=receiver.url,
                           trace={"propagate": True})  # fmt: skip
        jobs = [stack.api.run(hook_id, json={"n": n}) for n in range(5)]
        assert [j["status"] for j in jobs] == ["succeeded"] * 5
        assert all(len(j["traceId"]) == 32 for j in jobs)  # traced all the same
        for job in jobs:
            delivered(stack.api, job["jobId"])
        sync_id = f"{hook_id}-sync"
        stack.api.put_hook(sync_id, mode="sync", script="({body: 'now'})")
        for _ in range(3):
            answer = stack.api.send(sync_id)
            assert answer.status_code == 200 and answer.text == "now"
    finally:
        receiver.close()
        stack.stop()
