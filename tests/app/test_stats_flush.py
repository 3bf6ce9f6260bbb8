"""Stats from the intake and the executor reach ``/api/stats`` through each
process's buffer (workers/store/stats/buffer.py): at its flush, not in the
job store's steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from app.dispatcher import Dispatcher
from tests.support.fast import put_hook, send
from workers.settings import Settings
from workers.store.hooks import HookStore
from workers.store.jobs.records import EventRequest
from workers.store.stats import buffer as stats_buffer
from workers.store.stats.buckets import StatsWrite
from workers.store.stats.buffer import buffer_for

Admin = dict[str, str]
RunJob = Callable[[str], dict]


def test_events_and_jobs_are_charted_once_the_buffer_flushes(
    client: FlaskClient,
    admin: Admin,
    run_job: RunJob,
    hook_id: str,
    fast_settings: Settings,
) -> None:
    put_hook(client, admin, hook_id, script="({ body: 'ok' })")
    for _ in range(3):
        response = send(client, hook_id)
        assert response.status_code == 202, response.text
        assert run_job(response.json["jobId"])["status"] == "succeeded"
    # The test process is the intake and the worker child: one buffer.
    assert buffer_for(fast_settings).flush()
    series = client.get(f"/api/stats?hook={hook_id}&range=15m", headers=admin).json
    assert sum(series["events"]["accepted"]) == 3  # (the run may straddle a minute)
    assert sum(series["jobs"]["succeeded"]) == 3
    fleet = client.get("/api/stats?range=15m", headers=admin).json
    assert any(v is not None for v in fleet["queueDepth"]["scripts"])  # sampled at the flush
    assert any(v for values in fleet["childRssBytes"].values() for v in values)


def test_nothing_is_buffered_with_stats_off(
    client: FlaskClient,
    admin: Admin,
    fast_settings: Settings,
    hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put_hook(client, admin, hook_id, script="1")
    added: list[StatsWrite] = []
    monkeypatch.setattr(stats_buffer.StatsBuffer, "add", lambda _, write: added.append(write))
    dispatcher = Dispatcher(replace(fast_settings, stats_enabled=False))
    hook = HookStore(dispatcher.redis).get(hook_id)
    dispatcher.submit(hook, EventRequest("POST", "/", "", {}, {}, "", b""))
    dispatcher.count_refusal(hook_id, "queue_full")
    assert added == []
