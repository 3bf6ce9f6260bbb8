"""Test runs of a script on a sample event, through a real worker, leaving no
history. (A test run's 422 for a bad script is in tests/app/test_errors.py.)"""

from __future__ import annotations

import pytest

from tests.support.stack import Api

pytestmark = pytest.mark.stack


def history(api: Api, hook_id: str) -> list[dict]:
    response = api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs", headers=api.admin)
    assert response.status_code == 200, response.text
    return response.json()["jobs"]


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
