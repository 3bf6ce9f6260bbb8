"""The whole path over real HTTP: intake -> Redis -> Celery worker -> V8 -> job."""

from __future__ import annotations

import base64
import re

import pytest

from tests.support.stack import Api

pytestmark = pytest.mark.stack

ECHO = """(async () => {
  const text = new TextDecoder().decode(new Uint8Array(context.body));
  console.log("got", context.method, context.path);
  return { statusCode: 201, headers: { "x-echo": "1" },
           body: { method: context.method, path: context.path, query: context.query,
                   raw: context.rawQuery, ua: context.headers["user-agent"], text } };
})();"""


def test_an_event_is_accepted_then_runs_and_can_be_polled(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script=ECHO)
    response = api.send(
        hook_id,
        "/deep/path",
        params={"a": "1"},
        data=b'{"hello":"world"}',
        headers={"User-Agent": "tester"},
    )
    assert response.status_code == 202
    job_id = response.json()["jobId"]
    assert re.fullmatch(r"[0-9a-f]{32}", job_id)
    assert response.json()["statusUrl"] == f"/jobs/{job_id}"
    assert response.headers["Location"] == f"/jobs/{job_id}"

    job = api.wait_job(job_id)
    assert job["status"] == "succeeded"
    assert job["hookId"] == hook_id and job["scriptVersion"] == 1 and job["attempts"] == 1
    assert job["worker"].startswith("scripts@")
    assert job["durationMs"] > 0
    assert job["createdAt"] <= job["startedAt"] <= job["finishedAt"]
    assert job["logs"] == [{"level": "log", "message": "got POST /deep/path"}]
    result = job["result"]
    assert result["statusCode"] == 201 and result["bodyEncoding"] == "utf-8"
    assert result["headers"]["x-echo"] == "1"
    import json

    body = json.loads(result["body"])
    assert body == {
        "method": "POST",
        "path": "/deep/path",
        "query": {"a": "1"},
        "raw": "a=1",
        "ua": "tester",
        "text": '{"hello":"world"}',
    }
    assert job["request"]["body"] == '{"hello":"world"}'


def test_status_is_queued_or_running_before_the_end(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="(async () => { await new Promise(r => setTimeout(r, 400)); })()")
    job_id = api.send(hook_id).json()["jobId"]
    assert api.job(job_id)["status"] in ("queued", "running")
    assert api.wait_job(job_id)["status"] == "succeeded"


def test_binary_results_are_base64_in_the_job(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="({ body: new Uint8Array([0, 159, 146, 150, 255]) })")
    job = api.run(hook_id)
    assert job["result"]["bodyEncoding"] == "base64"
    assert base64.b64decode(job["result"]["body"]) == bytes([0, 159, 146, 150, 255])


def test_a_failed_job_shows_reason_and_line(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="(async () => {\n  null.boom;\n})()")
    job = api.run(hook_id)
    assert job["status"] == "failed" and job["reason"] == "error"
    assert "TypeError" in job["error"] and "hook.js:2" in job["error"]
    assert job["result"] is None


def test_a_hook_without_script_answers_its_static_response(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, response={"statusCode": 204, "headers": {"x-static": "1"}})
    job = api.run(hook_id)
    assert job["status"] == "succeeded"
    assert job["result"]["statusCode"] == 204 and job["result"]["headers"] == {"x-static": "1"}


def test_a_job_records_the_script_version_it_ran(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="({ body: 'v1' })")
    assert api.put_hook(hook_id, script="({ body: 'v2' })")["version"] == 2
    job = api.run(hook_id)
    assert (job["scriptVersion"], job["result"]["body"]) == (2, "v2")


def test_each_event_sees_a_clean_isolate_state(api: Api, hook_id: str) -> None:
    api.put_hook(
        hook_id, script="JSON.parse = () => 'hijacked'; ({ body: JSON.stringify({a: 1}) })"
    )
    other = hook_id + "-other"
    api.put_hook(other, script="({ body: String(JSON.parse('[1]')[0]) })")
    api.run(hook_id)
    assert api.run(other)["result"]["body"] == "1"
