"""Request history, its HAR export, and test runs that leave no history."""

from __future__ import annotations

import base64

from tests.support.stack import Api


def history(api: Api, hook_id: str) -> list[dict]:
    response = api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs", headers=api.admin)
    assert response.status_code == 200, response.text
    return response.json()["jobs"]


def test_history_is_newest_first_and_evicts_the_oldest(api: Api, hook_id: str) -> None:
    api.put_hook(
        hook_id, mode="sync", script="({ body: 'n' + context.query.n })", requestsToTrack=3
    )
    for n in range(5):
        assert api.send(hook_id, params={"n": str(n)}).text == f"n{n}"
    jobs = history(api, hook_id)
    assert [j["request"]["query"]["n"] for j in jobs] == ["4", "3", "2"]
    assert all(j["status"] == "succeeded" and j["durationMs"] is not None for j in jobs)
    assert jobs[0]["result"]["body"] == "n4"


def test_history_records_failures_of_async_hooks(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="throw new Error('nope')")
    job = api.run(hook_id, data=b"payload")
    [entry] = history(api, hook_id)
    assert entry["jobId"] == job["jobId"] and entry["reason"] == "error"
    assert entry["request"]["body"] == "payload" and "nope" in entry["error"]


def test_har_export_parses_and_holds_the_requests(api: Api, hook_id: str) -> None:
    api.put_hook(
        hook_id,
        mode="sync",
        script="({ headers: { 'content-type': 'image/png' }, body: new Uint8Array([0x89, 0x50]) })",
    )
    api.send(
        hook_id,
        "/first",
        params={"a": "1"},
        data=b'{"x":1}',
        headers={"Content-Type": "application/json"},
    )
    api.send(hook_id, "/second", method="PUT", data=b"\xff\x00")
    response = api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs.har", headers=api.admin)
    assert response.status_code == 200
    har = response.json()["log"]
    assert har["version"] == "1.2" and har["creator"]["name"] == "hooklet"
    second, first = har["entries"]
    assert first["request"]["method"] == "POST"
    assert first["request"]["url"].endswith(f"/h/{hook_id}/first?a=1")
    assert first["request"]["queryString"] == [{"name": "a", "value": "1"}]
    assert first["request"]["postData"] == {"mimeType": "application/json", "text": '{"x":1}'}
    assert second["request"]["method"] == "PUT"
    assert base64.b64decode(second["request"]["postData"]["text"]) == b"\xff\x00"
    assert first["response"]["status"] == 200
    assert first["response"]["content"]["mimeType"] == "image/png"
    assert base64.b64decode(first["response"]["content"]["text"]) == b"\x89P"
    for entry in har["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)


def test_test_run_of_a_stored_hook_leaves_no_history(api: Api, hook_id: str) -> None:
    api.put_hook(
        hook_id, script="console.log('testing'); ({ body: context.query.q + context.path })"
    )
    response = api.http.post(
        f"{api.base}/api/hooks/{hook_id}/test",
        json={"request": {"method": "GET", "path": "/p", "query": {"q": "hi "}}},
        headers=api.admin,
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "succeeded" and run["result"]["body"] == "hi /p"
    assert run["logs"] == [{"level": "log", "message": "testing"}]
    assert run["durationMs"] > 0
    assert history(api, hook_id) == []


def test_test_run_of_an_inline_script(api: Api) -> None:
    response = api.http.post(
        f"{api.base}/api/scripts/test",
        json={
            "script": "(async () => ({ statusCode: 202, body: JSON.parse("
            "String.fromCharCode(...context.body)).n * 2 }))()",
            "limits": {"timeoutMs": 1000},
            "request": {"body": {"n": 21}},
        },
        headers=api.admin,
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["result"]["statusCode"] == 202 and run["result"]["body"] == "42"


def test_test_run_reports_failures(api: Api) -> None:
    response = api.http.post(
        f"{api.base}/api/scripts/test",
        json={"script": "while (true) {}", "limits": {"timeoutMs": 200}},
        headers=api.admin,
    )
    run = response.json()
    assert (run["status"], run["reason"]) == ("failed", "timeout")


def test_test_run_validates_the_script(api: Api) -> None:
    response = api.http.post(
        f"{api.base}/api/scripts/test", json={"script": "let = ;"}, headers=api.admin
    )
    assert response.status_code == 422 and "script" in response.json()["error"]["message"]
