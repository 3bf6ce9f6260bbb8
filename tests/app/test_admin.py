"""The admin API for hooks."""

from __future__ import annotations

from tests.support.stack import Api


def test_put_creates_then_replaces(api: Api, hook_id: str) -> None:
    url = f"{api.base}/api/hooks/{hook_id}"
    created = api.http.put(url, json={"script": "null"}, headers=api.admin)
    assert created.status_code == 201 and created.json()["version"] == 1
    replaced = api.http.put(url, json={"script": "({})", "mode": "sync"}, headers=api.admin)
    assert replaced.status_code == 200
    assert replaced.json()["version"] == 2 and replaced.json()["mode"] == "sync"


def test_put_of_the_same_definition_keeps_the_version(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null")
    assert api.put_hook(hook_id, script="null")["version"] == 1


def test_get_shows_defaults_and_never_secrets(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null", secrets={"token": "hunter2"})
    response = api.http.get(f"{api.base}/api/hooks/{hook_id}", headers=api.admin)
    hook = response.json()
    assert "hunter2" not in response.text and "secrets" not in hook
    assert hook["secretNames"] == ["token"]
    assert hook["limits"] == {
        "timeoutMs": 30000,
        "heapMb": 10,
        "waitMs": 10000,
        "maxConcurrent": 10,
    }
    assert hook["mode"] == "async" and hook["methods"] == [] and hook["enabled"] is True
    assert hook["requestsToTrack"] == 30


def test_list_and_delete(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null")
    listed = api.http.get(f"{api.base}/api/hooks", headers=api.admin).json()["hooks"]
    assert hook_id in [h["id"] for h in listed]
    url = f"{api.base}/api/hooks/{hook_id}"
    assert api.http.delete(url, headers=api.admin).status_code == 204
    assert api.http.get(url, headers=api.admin).status_code == 404
    assert api.http.delete(url, headers=api.admin).status_code == 404
    assert api.send(hook_id).status_code == 404


def test_post_creates_and_refuses_duplicates(api: Api, hook_id: str) -> None:
    url = f"{api.base}/api/hooks"
    assert (
        api.http.post(url, json={"id": hook_id, "script": "null"}, headers=api.admin).status_code
        == 201
    )
    again = api.http.post(url, json={"id": hook_id, "script": "null"}, headers=api.admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
