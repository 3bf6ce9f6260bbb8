"""The hand-built task message matches what Celery itself would send."""

from __future__ import annotations

import base64

import orjson

from workers.celery_app import RUN_SCRIPT, make_celery
from workers.messages import run_script_message
from workers.settings import Settings


def test_message_matches_celerys_own_protocol_2() -> None:
    settings = Settings()
    ours = orjson.loads(run_script_message("a" * 32, 1500, settings))
    app = make_celery(settings)
    theirs = app.amqp.as_task_v2(
        "a" * 32, RUN_SCRIPT, args=["a" * 32], kwargs={}, time_limit=6.5, soft_time_limit=3.5
    )
    assert set(ours["headers"]) == set(theirs.headers)
    for name in ("lang", "task", "id", "root_id", "retries", "timelimit", "argsrepr"):
        assert ours["headers"][name] == theirs.headers[name], name
    args, kwargs, embed = orjson.loads(base64.b64decode(ours["body"]))
    assert [args, kwargs] == [list(theirs.body[0]), theirs.body[1]]
    assert embed == theirs.body[2]
    assert ours["properties"]["delivery_info"] == {"exchange": "", "routing_key": "scripts"}
    assert ours["properties"]["body_encoding"] == "base64"
    assert ours["content-type"] == "application/json"
