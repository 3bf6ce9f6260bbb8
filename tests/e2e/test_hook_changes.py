"""A hook changed through the API governs the very next event, in every web
process, although each process keeps its own copy of the hooks it has seen.
(The atomic check behind it is in tests/app/test_hook_changes.py.)"""

from __future__ import annotations

import pytest
import requests

from tests.support.stack import Api

pytestmark = pytest.mark.stack

# Fresh connections, so the requests spread over both gunicorn processes.
ROUNDS = 24


def statuses(api: Api, hook_id: str, **kwargs) -> set[int]:
    url = f"{api.base}/h/{hook_id}"
    return {requests.post(url, data=b"{}", timeout=10, **kwargs).status_code for _ in range(ROUNDS)}


def test_every_change_applies_to_the_next_event(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="({ body: 'v1' })")
    assert statuses(api, hook_id) == {202}  # every process now holds a copy

    api.put_hook(hook_id, script="({ body: 'v2' })")
    job = api.run(hook_id)
    assert job["scriptVersion"] == 2 and job["result"]["body"] == "v2"

    api.put_hook(hook_id, script="({ body: 'v2' })", enabled=False)
    assert statuses(api, hook_id) == {404}
    api.put_hook(hook_id, script="({ body: 'v2' })")
    assert statuses(api, hook_id) == {202}

    api.put_hook(hook_id, script="({ body: 'v2' })", methods=["PUT"])
    assert statuses(api, hook_id) == {405}

    api.put_hook(
        hook_id,
        script="({ body: 'v2' })",
        verify={"scheme": "github", "secret": "s3cret-" + "x" * 32},
    )
    assert statuses(api, hook_id) == {401}

    response = api.http.delete(f"{api.base}/api/hooks/{hook_id}", headers=api.admin, timeout=10)
    assert response.status_code == 204
    assert statuses(api, hook_id) == {404}
    api.put_hook(hook_id, script="({ body: 'again' })")
    assert statuses(api, hook_id) == {202}


def test_a_retried_event_is_answered_only_while_the_hook_takes_events(
    api: Api, hook_id: str
) -> None:
    api.put_hook(hook_id, script="null")
    retry = {"Idempotency-Key": "delivery-1"}
    assert api.send(hook_id, data=b"{}", headers=retry).status_code == 202
    assert statuses(api, hook_id, headers=retry) == {200}  # every process has a copy

    api.put_hook(hook_id, script="null", enabled=False)
    assert statuses(api, hook_id, headers=retry) == {404}
    api.put_hook(
        hook_id, script="null", verify={"scheme": "github", "secret": "s3cret-" + "x" * 32}
    )
    assert statuses(api, hook_id, headers=retry) == {401}
