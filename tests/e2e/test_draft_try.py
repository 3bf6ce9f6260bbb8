# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""Trying a draft on recorded events (issue 25 items 1 and 3) on the real
stack (gunicorn, Celery, Redis, V8) with a local upstream that counts what
it receives: the live version on its own tapes gives back every stored
answer byte for byte (time and random values included); a changed draft
``differs`` with the right diff, and a draft that adds a fetch ``diverged``,
both without one upstream request or KV change; a tape over the cap marks
its job not replayable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env
from tests.support.upstream import Upstream

pytestmark = pytest.mark.stack
TAPE_MAX_BYTES = 4096
LIVE = """(async () => {
  const r = await fetch("UP/data");
  const seen = await secutils.kv.get("count");
  const n = seen ? seen.length / 4 + 1 : 1;
  await secutils.kv.set("count", "QUFB".repeat(n));
  const input = JSON.parse(Deno.core.decode(new Uint8Array(context.body)));
  return { statusCode: 200, headers: { "x-time": new Date().toISOString() },
           body: { upstream: await r.json(), n, i: input.i, now: Date.now(), id: crypto.randomUUID(), r: Math.random() } };
})()"""


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("drafttry")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(redis_server: RedisServer) -> Iterator[Api]:
    env = hooklet_env(redis_server.url, egress_allowlist="127.0.0.1", tape_max_bytes=TAPE_MAX_BYTES)
    worker = Worker(env, redis_server.workdir, name="drafttry", concurrency=2).start()
    web = Web(env, redis_server.workdir).start()
    yield Api(web.url)
    web.stop()
    worker.stop()


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def kv_state(client: redis.Redis) -> dict:
    return {key: client.dump(key) for key in sorted(client.keys("hooklet:kv:*"))}


def call(api: Api, method: str, path: str, **kwargs) -> dict:
    response = api.http.request(
        method, f"{api.base}/api/{path}", headers=api.admin, timeout=120, **kwargs
    )
    assert response.status_code < 300, response.text
    return response.json()


def try_draft(api: Api, hook_id: str, script: str, **body) -> dict:
    call(api, "PUT", f"hooks/{hook_id}/draft", json={"script": script})
    return call(api, "POST", f"hooks/{hook_id}/draft/try", json=body)


@pytest.fixture(scope="module")
def recorded(api: Api, upstream: Upstream) -> tuple[str, list[dict], str]:
    hook_id = f"try-{uuid.uuid4().hex[:8]}"
    script = LIVE.replace("UP", upstream.url)
    api.put_hook(hook_id, script=script)
    jobs = [api.run(hook_id, json={"i": i}) for i in range(3)]
    assert all(job["status"] == "succeeded" for job in jobs), jobs
    return hook_id, jobs, script


def test_the_live_version_on_its_tapes_gives_back_every_answer(
    api: Api, upstream: Upstream, redis_server: RedisServer, recorded
) -> None:
    hook_id, jobs, script = recorded
    hits, kv = upstream.hits, kv_state(redis_server.client())
    out = try_draft(api, hook_id, script, ids=[job["jobId"] for job in jobs])
    assert out["counts"] == {"same": 3}, __import__("json").dumps(
        out
    )  # byte for byte: status, headers (time), body (time, ids, random)
    assert [job["jobId"] for job in out["jobs"]] == [job["jobId"] for job in jobs]
    by_filter = try_draft(api, hook_id, script, filter={"status": "succeeded"}, limit=2)
    assert by_filter["counts"] == {"same": 2}
    assert upstream.hits == hits and kv_state(redis_server.client()) == kv
    history = call(api, "GET", f"hooks/{hook_id}/jobs")
    assert len(history["jobs"]) == 3  # the try runs left no job in the history


def test_a_changed_draft_differs_without_reaching_anything(
    api: Api, upstream: Upstream, redis_server: RedisServer, recorded
) -> None:
    hook_id, jobs, script = recorded
    hits, kv = upstream.hits, kv_state(redis_server.client())
    draft = script.replace("statusCode: 200", "statusCode: 201").replace(
        "n, i: input.i", "n: n * 10, i: input.i"
    )
    out = try_draft(api, hook_id, draft, ids=[jobs[1]["jobId"]])
    assert out["counts"] == {"differs": 1}, out
    diff = out["jobs"][0]["diff"]
    assert diff["statusCode"] == {"stored": 200, "draft": 201}
    assert "headers" not in diff  # the time header came back from the tape
    assert diff["body"] == {
        "json": True,
        "changes": [{"path": "$.n", "stored": 2, "draft": 20}],
        "more": False,
    }
    assert upstream.hits == hits and kv_state(redis_server.client()) == kv


def test_a_draft_that_adds_a_fetch_diverged(
    api: Api, upstream: Upstream, redis_server: RedisServer, recorded
) -> None:
    hook_id, jobs, script = recorded
    hits, kv = upstream.hits, kv_state(redis_server.client())
    draft = script.replace(
        "const seen =",
        f'await fetch("{upstream.url}/echo", {{ method: "POST", body: "x" }});\n  const seen =',
    )
    out = try_draft(api, hook_id, draft, ids=[jobs[0]["jobId"]])
    assert out["jobs"][0] == {
        "jobId": jobs[0]["jobId"],
        "result": "diverged",
        "step": 2,
        "call": f"fetch POST {upstream.url}/echo",
    }
    assert upstream.hits == hits and kv_state(redis_server.client()) == kv


def test_a_tape_over_the_cap_marks_the_job_not_replayable(api: Api, upstream: Upstream) -> None:
    hook_id = f"big-{uuid.uuid4().hex[:8]}"
    # Random bytes do not compress: the echoed body alone passes the cap.
    api.put_hook(
        hook_id,
        script=f"""(async () => {{
      const noise = new Uint8Array({TAPE_MAX_BYTES * 2}); crypto.getRandomValues(noise);
      const r = await fetch("{upstream.url}/echo", {{ method: "POST", body: noise }});
      return {{ body: String((await r.arrayBuffer()).byteLength > 0) }};
    }})()""",
    )
    job = api.run(hook_id, json={})
    assert job["status"] == "succeeded", job
    view = call(api, "GET", f"jobs/{job['jobId']}")
    assert view["replayable"] is False and "HOOKLET_TAPE_MAX_BYTES" in view["notReplayableReason"]
    out = try_draft(api, hook_id, "({ body: 'x' })", ids=[job["jobId"]])
    assert out["jobs"][0]["result"] == "failed" and out["jobs"][0]["reason"] == "not_replayable"
