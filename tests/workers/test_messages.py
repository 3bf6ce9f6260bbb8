"""The hand-built task message matches what Celery itself would send."""

from __future__ import annotations

import base64

import orjson

from workers.queue.celery_app import make_celery
from workers.queue.messages import run_script_message, run_task
from workers.queue.names import RUN_SCRIPT, SCRIPT_QUEUES, run_time_limits
from workers.settings import Settings
from workers.store.lanes.lane import Lane


def test_message_matches_celerys_own_protocol_2() -> None:
    settings = Settings()
    ours = orjson.loads(run_script_message("a" * 32, settings, hook_id="my-hook"))
    app = make_celery(settings)
    # A token may claim any hook's job: its limits are the longest script's.
    soft_s, hard_s = run_time_limits(settings, settings.max_timeout_ms)
    theirs = app.amqp.as_task_v2(
        "a" * 32,
        RUN_SCRIPT,
        args=["a" * 32, "my-hook"],
        kwargs={},
        time_limit=hard_s,
        soft_time_limit=soft_s,
    )
    assert set(ours["headers"]) == set(theirs.headers)
    for name in ("lang", "task", "id", "root_id", "retries", "timelimit", "argsrepr"):
        assert ours["headers"][name] == theirs.headers[name], name
    args, kwargs, embed = orjson.loads(base64.b64decode(ours["body"]))
    assert [args, kwargs] == [list(theirs.body[0]), theirs.body[1]]
    assert embed == theirs.body[2]
    assert "my-hook" in ours["headers"]["argsrepr"]  # Flower's search finds a hook's tasks
    assert ours["properties"]["delivery_info"] == {"exchange": "", "routing_key": "scripts"}
    assert ours["properties"]["body_encoding"] == "base64"
    assert ours["content-type"] == "application/json"


def test_the_sync_lanes_tokens_go_to_the_queue_workers_look_at_first() -> None:
    settings = Settings()
    queue, message = run_task("b" * 32, settings, Lane.sync("hook"))
    assert queue == SCRIPT_QUEUES[0] == "scripts.sync"
    routing = orjson.loads(message)["properties"]["delivery_info"]["routing_key"]
    assert routing == "scripts.sync"
    assert run_task("c" * 32, settings, Lane("hook"))[0] == "scripts"
    app = make_celery(settings)
    assert [q.name for q in app.conf.task_queues][:2] == list(SCRIPT_QUEUES)
    assert app.conf.broker_transport_options["queue_order_strategy"] == "priority"


def test_celery_limits_leave_room_for_jobs_taken_after_the_task() -> None:
    # Each taken job is held to its own timeout by the watchdog; Celery's hard
    # limit, the backstop, must not end the child while it runs one.
    batching = Settings(max_timeout_ms=60_000, hard_limit_margin_ms=5_000, batch_window_ms=50)
    assert run_time_limits(batching, 1500) == (68.55, 71.55)
    alone = Settings(batch_max_jobs=0, soft_limit_margin_ms=2_000, hard_limit_margin_ms=5_000)
    assert run_time_limits(alone, 1500) == (3.5, 6.5)
