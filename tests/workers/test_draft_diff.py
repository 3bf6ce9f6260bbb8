"""The diff a draft try reports (workers/draft_runs/diff.py): status, headers, and a
body compared value by value when both sides are JSON."""

from __future__ import annotations

import orjson

from workers.draft_runs.diff import answer_of, diff


def job(
    status_code: int, headers: dict, body: bytes, status: str = "succeeded"
) -> dict[bytes, bytes]:
    result = orjson.dumps({"statusCode": status_code, "headers": headers})
    return {b"status": status.encode(), b"result": result, b"resultBody": body}


def test_same_answers_have_no_diff() -> None:
    raw = job(200, {"a": "1"}, b'{"x": 1}')
    assert diff(answer_of(raw), answer_of(raw)) == {}


def test_json_bodies_are_compared_by_path() -> None:
    before = answer_of(job(200, {"a": "1", "b": "2"}, b'{"x": 1, "list": [1, 2], "gone": true}'))
    after = answer_of(job(201, {"a": "1", "c": "3"}, b'{"list": [1, 3, 4], "x": 1, "new": null}'))
    assert diff(before, after) == {
        "statusCode": {"stored": 200, "draft": 201},
        "headers": {"b": {"stored": "2", "draft": None}, "c": {"stored": None, "draft": "3"}},
        "body": {"json": True, "more": False, "changes": [
            {"path": "$.list[1]", "stored": 2, "draft": 3},
            {"path": "$.list[2]", "draft": 4},
            {"path": "$.gone", "stored": True},
            {"path": "$.new", "draft": None},
        ]},
    }  # fmt: skip


def test_the_same_json_spelled_differently_is_named() -> None:
    before, after = (
        answer_of(job(200, {}, b'{"a":1,"b":2}')),
        answer_of(job(200, {}, b'{"b": 2, "a": 1}')),
    )
    assert diff(before, after)["body"]["changes"] == []


def test_other_bodies_are_shown_whole() -> None:
    before, after = answer_of(job(200, {}, b"hello")), answer_of(job(200, {}, b"\xff\x00"))
    assert diff(before, after)["body"] == {
        "stored": {"body": "hello", "bodyEncoding": "utf-8", "bytes": 5},
        "draft": {"body": "/wA=", "bodyEncoding": "base64", "bytes": 2},
    }


def test_a_failure_is_compared_by_reason_and_error() -> None:
    failed = {b"status": b"failed", b"reason": b"error", b"error": b"boom"}
    changes = diff(answer_of(job(200, {}, b"ok")), answer_of(failed))
    assert changes["status"] == {"stored": "succeeded", "draft": "failed"}
    assert changes["error"] == {"stored": None, "draft": "boom"}
