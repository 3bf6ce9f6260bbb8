"""Sync hooks: the script answers the HTTP request through a real worker."""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import json
import zlib

import pytest
import requests

from app.dispatcher import Dispatcher
from tests.support.stack import Api, wait_until
from workers.settings import load_settings
from workers.store.jobs.records import EventRequest

pytestmark = pytest.mark.stack


def sync_hook(api: Api, hook_id: str, script: str | None, **extra) -> None:
    api.put_hook(hook_id, mode="sync", script=script, **extra)


def _png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    raw = b"".join(b"\x00" + bytes([255, 0, 0] * width) for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_the_script_answers(api: Api, hook_id: str) -> None:
    sync_hook(
        api,
        hook_id,
        "(async () => ({ statusCode: 201, headers: { 'x-answer': '42' }, body: { path: "
        "context.path, q: context.query } }))()",
    )
    response = api.send(hook_id, "/a/b", params={"x": "1"})
    assert response.status_code == 201
    assert response.headers["x-answer"] == "42"
    # Issue 15: as secutils, no content-type is added that neither side set.
    assert "content-type" not in response.headers
    assert response.json() == {"path": "/a/b", "q": {"x": "1"}}
    # Opt-in per hook (debugHeaders): see tests/security/test_responses.py.
    assert "X-Hooklet-Job" not in response.headers and "Server-Timing" not in response.headers


def test_binary_body_round_trips_byte_for_byte(api: Api, hook_id: str) -> None:
    png = _png()
    sync_hook(
        api,
        hook_id,
        "(() => ({ headers: { 'content-type': 'image/png' }, "
        "body: new Uint8Array(context.body) }))()",
    )
    response = api.send(hook_id, data=png)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert int(response.headers["content-length"]) == len(png)
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(png).digest()


def test_every_byte_value_survives(api: Api, hook_id: str) -> None:
    data = bytes(range(256)) * 4
    sync_hook(api, hook_id, "({ body: new Uint8Array(context.body) })")
    assert api.send(hook_id, data=data).content == data


def test_hop_by_hop_headers_from_the_script_are_dropped(api: Api, hook_id: str) -> None:
    sync_hook(
        api,
        hook_id,
        "({ headers: { connection: 'upgrade', 'transfer-encoding': 'chunked', "
        "'content-length': '999', 'keep-alive': 'timeout=1', 'x-ok': 'yes' }, body: 'abc' })",
    )
    response = api.send(hook_id)
    assert response.content == b"abc"
    assert response.headers["content-length"] == "3"
    assert response.headers["x-ok"] == "yes"
    assert "transfer-encoding" not in response.headers
    assert "keep-alive" not in response.headers


def test_static_responder_without_script(api: Api, hook_id: str) -> None:
    sync_hook(
        api,
        hook_id,
        None,
        response={"statusCode": 418, "body": "teapot", "headers": {"content-type": "text/plain"}},
    )
    response = api.send(hook_id)
    assert (response.status_code, response.text) == (418, "teapot")


def test_a_sync_retry_gets_the_original_answer(api: Api, hook_id: str) -> None:
    sync_hook(api, hook_id, "({ body: String(Math.random()) })", debugHeaders=True)
    first = api.send(hook_id, headers={"Idempotency-Key": "k"})
    again = api.send(hook_id, headers={"Idempotency-Key": "k"})
    assert first.text == again.text
    assert first.headers["X-Hooklet-Job"] == again.headers["X-Hooklet-Job"]


def test_a_looping_script_answers_504(api: Api, hook_id: str) -> None:
    sync_hook(api, hook_id, "while (true) {}", limits={"timeoutMs": 300})
    response = api.send(hook_id)
    assert response.status_code == 504
    assert response.text == "Script exceeded time limit."  # secutils' text (issue 15)


def test_a_throwing_script_answers_500_with_the_error(api: Api, hook_id: str) -> None:
    sync_hook(api, hook_id, "(async () => {\n  throw new Error('kaput');\n})()")
    response = api.send(hook_id)
    assert response.status_code == 500
    assert response.text.startswith("Error: kaput") and "hook.js:2" in response.text


def test_wait_budget_exhausted_answers_202_and_the_job_completes(api: Api, hook_id: str) -> None:
    sync_hook(
        api,
        hook_id,
        "(async () => { await new Promise(r => setTimeout(r, 800)); return { body: 'done' }; })()",
        limits={"waitMs": 100},
    )
    response = api.send(hook_id)
    assert response.status_code == 202
    job = api.wait_job(response.json()["jobId"])
    assert job["status"] == "succeeded" and job["result"]["body"] == "done"


def test_concurrency_limit_answers_429_and_creates_no_job(api: Api, hook_id: str) -> None:
    sync_hook(
        api,
        hook_id,
        "(async () => { await new Promise(r => setTimeout(r, 1500)); return { body: 'ok' }; })()",
        limits={"maxConcurrent": 1},
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(requests.post, f"{api.base}/h/{hook_id}", timeout=20)
        history = f"{api.base}/api/hooks/{hook_id}/jobs"

        def in_flight() -> bool:
            return len(api.http.get(history, headers=api.admin).json()["jobs"]) == 1

        wait_until(in_flight, what="the first request to be in flight")
        second = api.send(hook_id)
        assert second.status_code == 429
        assert second.headers["Retry-After"] == "1"
        assert first.result().status_code == 200
    assert len(api.http.get(history, headers=api.admin).json()["jobs"]) == 1
    assert api.send(hook_id).status_code == 200  # the slot was given back


def test_a_slot_whose_request_vanished_comes_back(
    env: dict[str, str], api: Api, hook_id: str
) -> None:
    sync_hook(api, hook_id, "({ body: 'ok' })", limits={"maxConcurrent": 1, "waitMs": 200})
    # A web process took the hook's only slot, then died without giving it back.
    dispatcher = Dispatcher(load_settings(env, sync_slot_grace_s=1))
    event = EventRequest("POST", "/", "", {}, {}, "", b"")
    dispatcher.submit(dispatcher.hooks.get(hook_id), event, take_slot=True)
    assert api.send(hook_id).status_code == 429
    wait_until(lambda: api.send(hook_id).status_code == 200, timeout_s=10, what="the slot")


def test_methods_filter_sync_hooks(api: Api, hook_id: str) -> None:
    sync_hook(api, hook_id, "({ body: context.method })", methods=["GET"])
    assert api.send(hook_id, method="GET").text == "GET"
    assert api.send(hook_id, method="POST").status_code == 405


def test_repeated_query_keys_and_headers(api: Api, hook_id: str) -> None:
    sync_hook(
        api,
        hook_id,
        "({ body: { q: context.query, raw: context.rawQuery, h: context.headers['x-multi'] } })",
    )
    host, port = api.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("POST", f"/h/{hook_id}?a=1&a=2&b=")
    conn.putheader("X-Multi", "one")
    conn.putheader("X-Multi", "two")
    conn.putheader("Content-Length", "0")
    conn.endheaders()
    body = json.loads(conn.getresponse().read())
    conn.close()
    # Issue 15: as secutils, the last value of a repeated key or header wins.
    assert body == {"q": {"a": "2", "b": ""}, "raw": "a=1&a=2&b=", "h": "two"}
