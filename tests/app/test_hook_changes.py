"""The intake's copy of a hook is checked in the same atomic call that writes
the job: a stale copy writes nothing. (That every gunicorn process follows a
change is in tests/e2e/test_hook_changes.py.)"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.dispatcher import Dispatcher
from tests.support.fast import put_hook
from workers.errors import HookChanged
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.jobs.records import EventRequest


def test_a_job_is_refused_whole_if_its_hook_changed_meanwhile(
    client: FlaskClient, admin: dict[str, str], fast_settings: Settings, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="null")
    dispatcher = Dispatcher(fast_settings)
    cached = dispatcher.hook_cache.get(hook_id)
    put_hook(client, admin, hook_id, script="'changed'")
    redis = dispatcher.redis
    event = EventRequest("POST", "/", "", {}, {}, "", b"{}")

    accepted = metrics.field("events_received", hook=hook_id, outcome="accepted")
    with pytest.raises(HookChanged):
        dispatcher.submit(cached.hook, event, job_id="j-stale", hook_etag=cached.etag)
    assert not redis.exists(keys.job("j-stale"))
    assert redis.lrange(keys.history(hook_id), 0, -1) == []
    assert redis.hget(keys.metrics(), accepted) is None

    fresh = dispatcher.hook_cache.refresh(hook_id)
    submitted = dispatcher.submit(fresh.hook, event, job_id="j-fresh", hook_etag=fresh.etag)
    assert submitted == ("j-fresh", False)
    assert redis.exists(keys.job("j-fresh"))
