# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""Whatever a sender's request or a script contains, a run ends once, as
``succeeded`` or ``failed`` with a reason the script's author can act on
(issue 20 item 2). Lone UTF-16 surrogates (which V8's JSON.stringify writes
as ``\\ud800`` and orjson refuses), invalid UTF-8 and forged shapes go
through every channel: logs, thrown errors, results (body, headers,
statusCode), KV keys and values, and host-call arguments. Each job runs
through the real executor (V8 in the test process, the real redis-server);
each must end in its first attempt, without an exception."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from app import services
from tests.support.fast import put_hook
from tests.support.upstream import Upstream
from workers.queue.executor import Executor
from workers.sandbox.host_calls import HostCalls
from workers.sandbox.wire import read_json
from workers.settings import Settings
from workers.store.jobs.records import EventRequest, JobStatus

Admin = dict[str, str]
SURROGATE_BODY = b'{"sender": "\\ud800", "low": "\\udc00x", "pair": "\\ud83d\\ude00"}'
READ_SENDER = "JSON.parse(Deno.core.decode(new Uint8Array(context.body))).sender"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture(scope="module")
def local_executor(fast_settings: Settings) -> Iterator[Executor]:
    """The worker's executor, allowed to reach the local upstream."""
    executor = Executor(dataclasses.replace(fast_settings, egress_allowlist=("127.0.0.1",)))
    yield executor
    executor.pool.clear()


def run(
    executor: Executor,
    client: FlaskClient,
    admin: Admin,
    hook_id: str,
    script: str,
    body: bytes = SURROGATE_BODY,
    **request: object,
) -> dict:
    """Queue one event as the intake does, run it once, and return its job:
    the run must end (no exception) in its first attempt."""
    put_hook(client, admin, hook_id, script=script, limits={"timeoutMs": 5000})
    event = EventRequest(
        str(request.get("method", "POST")),
        str(request.get("path", "/")),
        request.get("raw_query", ""),  # type: ignore[arg-type]
        request.get("query", {}),  # type: ignore[arg-type]
        request.get("headers", {}),  # type: ignore[arg-type]
        "127.0.0.1:1",
        body,
    )
    with client.application.app_context():
        dispatcher = services.dispatcher()
        job_id = dispatcher.submit(dispatcher.hooks.get(hook_id), event).job_id
    ran = executor.run_job(job_id, "tests/hostile")
    response = client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job = response.json
    assert job["status"] == ran.status.value
    assert job["status"] in (JobStatus.SUCCEEDED, JobStatus.FAILED), job
    assert job["attempts"] == 1, job
    return job


# --- lone surrogates from the sender, through each channel ------------------------------


def test_a_logged_surrogate_is_kept_as_a_replacement_character(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    job = run(local_executor, client, admin, hook_id,
              f"(async () => {{ const s = {READ_SENDER}; console.log('got', s, '\\udc00', '\\ud83d\\ude00'); console.warn({{ s }}); return {{ body: 'ok' }}; }})()")  # fmt: skip
    assert job["status"] == "succeeded", job.get("error")
    assert [line["message"] for line in job["logs"]] == [
        "got \ufffd \ufffd \U0001f600",
        '{"s":"\\ud800"}',  # the script's own JSON.stringify text, kept as it wrote it
    ]


@pytest.mark.parametrize(
    "throw",
    [
        f"throw new Error({READ_SENDER})",
        f"throw {READ_SENDER}",
        f"throw {{ sender: {READ_SENDER} }}",
        f"await Promise.reject(new TypeError('bad ' + {READ_SENDER}))",
    ],
)
def test_a_thrown_surrogate_fails_the_run_as_error(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str, throw: str
) -> None:
    job = run(local_executor, client, admin, hook_id, f"(async () => {{ {throw}; }})()")
    assert (job["status"], job["reason"]) == ("failed", "error"), job
    assert "\ufffd" in job["error"] or "\\ud800" in job["error"]


def test_a_json_body_with_a_surrogate_is_well_formed_json(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    job = run(local_executor, client, admin, hook_id,
              f"(async () => ({{ body: {{ sender: {READ_SENDER}, text: 'a\\\\ud800' }}, headers: {{ 'content-type': 'application/json' }} }}))()")  # fmt: skip
    assert job["status"] == "succeeded", job.get("error")
    # The lone surrogate became U+FFFD; an escaped backslash stays as it was.
    assert json.loads(job["result"]["body"]) == {"sender": "\ufffd", "text": "a\\ud800"}


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (f"{{ headers: {{ ['x-' + {READ_SENDER}]: 'v' }} }}", "invalid header 'x-\ufffd'"),
        (f"{{ headers: {{ 'x-a': {READ_SENDER} }} }}", "invalid header 'x-a'"),
        (f"{{ statusCode: {READ_SENDER} }}", "statusCode must be a number"),
        ("{ statusCode: { valueOf() { return 201; } } }", "statusCode must be a number"),
        ("{ statusCode: Symbol('s') }", "statusCode must be a number"),
        ("{ statusCode: 99 }", "not a final HTTP status"),
        ("{ headers: 'x' }", "headers must be an object"),
        ("{ headers: { a: 1 } }", "header 'a' must be a string"),
        ("{ body: Symbol('s') }", "Error deserializing script result"),
        ("{ body: { n: 1n } }", "BigInt"),
    ],
)
def test_odd_results_fail_with_a_message_the_author_can_act_on(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str,
    result: str, message: str,
) -> None:  # fmt: skip
    job = run(local_executor, client, admin, hook_id, f"(async () => ({result}))()")
    assert (job["status"], job["reason"]) == ("failed", "error"), job
    assert message in job["error"]


def test_status_code_types_secutils_accepts(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    job = run(local_executor, client, admin, hook_id,
              "(async () => ({ statusCode: 201n, body: new Uint8Array([255, 0]) }))()")  # fmt: skip
    assert job["status"] == "succeeded", job.get("error")
    assert job["result"]["statusCode"] == 201


def test_kv_keys_and_values_with_surrogates(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    job = run(local_executor, client, admin, hook_id, f"""(async () => {{
        const s = {READ_SENDER};
        await secutils.kv.set('k' + s, 'dg');
        const value = await secutils.kv.get('k\\ufffd');
        const listed = await secutils.kv.list({{ prefix: 'k' + s }});
        let bad = null;
        try {{ await secutils.kv.set('v', 'dg' + s); }} catch (e) {{ bad = e.message; }}
        return {{ body: {{ value, keys: listed.entries.map((e) => e.key), bad }} }};
    }})()""")  # fmt: skip
    assert job["status"] == "succeeded", job.get("error")
    body = json.loads(job["result"]["body"])
    assert body["value"] == "dg" and body["keys"] == ["k\ufffd"]
    assert "base64" in body["bad"]


def test_invalid_utf8_from_the_sender_reads_as_replacement_characters(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    job = run(local_executor, client, admin, hook_id,
              "(async () => { const t = Deno.core.decode(new Uint8Array(context.body)); console.log(t, context.path, context.headers['x-h']); return { body: t + JSON.stringify(context.query) }; })()",
              body=b"\xff\xfe\xed\xa0\x80ok", path="/\ufffd", headers={"x-h": "\xff"},
              query={"q": "\ufffd"})  # fmt: skip
    assert job["status"] == "succeeded", job.get("error")
    assert job["result"]["body"].startswith("\ufffd\ufffd\ufffd")
    assert job["logs"][0]["message"].startswith("\ufffd")


# --- host calls with surrogates or forged shapes -------------------------------------


def test_fetch_with_surrogates_in_url_headers_and_body(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str,
    upstream: Upstream,
) -> None:  # fmt: skip
    hits = upstream.hits
    job = run(local_executor, client, admin, hook_id, f"""(async () => {{
        const s = {READ_SENDER};
        const out = [];
        for (const call of [
            () => fetch('{upstream.url}/echo?q=' + s, {{ method: 'POST', body: s }}),
            () => fetch('{upstream.url}/echo', {{ headers: {{ 'x-s': s }} }}),
            () => Deno.core.ops.op_proxy_request({{ url: '{upstream.url}/echo?q=' + s, method: 'POST', body: [1] }}),
            () => Deno.core.ops.op_proxy_request({{ url: '{upstream.url}/echo', headers: {{ x: s }} }}),
            () => Deno.core.ops.op_proxy_request({{ url: '{upstream.url}/echo', method: 'P' + s, headers: [['x', s]], body: [1] }}),
        ]) {{
            try {{ const r = await call(); out.push(r.status ?? r.statusCode); }}
            catch (e) {{ out.push(e.name); }}
        }}
        return {{ body: out }};
    }})()""")  # fmt: skip
    assert job["status"] == "succeeded", job.get("error")
    # The sender's surrogate reached the host only as U+FFFD: the URL carries
    # it percent-encoded; a header value that is not latin-1 is refused.
    assert json.loads(job["result"]["body"]) == [
        "URIError",
        "TypeError",
        200,
        "TypeError",
        "TypeError",
    ]
    assert upstream.hits - hits == 1


# Replaces Array.prototype.push so that the runtime's queue of host calls
# receives FORGE(call) instead of the call it built; every other push works.
FORGE_PUSH = "const push = Array.prototype.push; Array.prototype.push = function (...a) { const c = a[0]; if (a.length === 1 && c && typeof c === 'object' && 'op' in c && 'id' in c) { this[this.length] = FORGE(c); return this.length; } return push.apply(this, a); };"


def forged_push(forge: str, then: str) -> str:
    return FORGE_PUSH.replace("FORGE", f"(({forge}))") + " " + then


FORGERIES = {
    "toJSON on Object.prototype before seal": "Object.prototype.toJSON = function () { return 5; }; await secutils.crypto.seal('k', 'p');",
    "toJSON returning undefined": "Object.prototype.toJSON = () => undefined; await secutils.kv.get('a');",
    "toJSON that throws": "Object.prototype.toJSON = () => { throw new Error('no ' + SENDER); }; await secutils.kv.get('a');",
    "toJSON faking calls after the result": "Object.prototype.toJSON = function () { return 'logs' in this ? { ok: true, calls: 'c' } : this; }; return { body: 'x' };",
    "toJSON faking a status": "Object.prototype.toJSON = function () { return 'logs' in this ? { ok: true, statusCode: '200', logsDropped: 'x', text: 5, json: 1 } : this; }; return { body: 'x' };",
    "toJSON faking headers": "Object.prototype.toJSON = function () { return 'logs' in this ? { ok: true, headers: { a: 1 }, logs: 7 } : this; }; return { body: 'x' };",
    "toJSON faking calls": "Object.prototype.toJSON = function () { return { calls: [{ id: 1, op: 'crypto.seal', args: 5, body: 1 }, { id: 2, op: 7, args: [1] }, 3] }; }; await secutils.kv.get('a');",
    "seal args an array": forged_push(
        "(c) => ({ id: c.id, op: c.op, args: [c.args] })", "await secutils.crypto.seal('k', 'p');"
    ),
    "seal args a string": forged_push(
        "(c) => ({ id: c.id, op: c.op, args: 'k' })", "await secutils.crypto.seal('k', 'p');"
    ),
    "fetch headers odd pairs": forged_push(
        "(c) => ({ id: c.id, op: 'fetch', args: { url: URL_ + '/echo', headers: [[1, 2, 3], 5], method: ['GET'], timeout: 'x', redirect: {} } })",
        "await fetch(URL_);",
    ),
    "fetch headers numbers": forged_push(
        "(c) => ({ id: c.id, op: 'fetch', args: { url: URL_ + '/echo', headers: [[1, 2]] } })",
        "await fetch(URL_);",
    ),
    "proxy headers a string": forged_push(
        "(c) => ({ id: c.id, op: 'proxy', args: { url: URL_, headers: 'abc', method: 5, insecure: 'yes', decompress: 0 } })",
        "await fetch(URL_);",
    ),
    "proxy url an object": forged_push(
        "(c) => ({ id: c.id, op: 'proxy', args: { url: { href: URL_ } } })", "await fetch(URL_);"
    ),
    "kv shapes": forged_push(
        "(c) => ({ id: c.id, op: 'kv.set', args: { key: { a: 1 }, value: [1], opts: { ttlSec: 'x', ifAbsent: 3 } } })",
        "await secutils.kv.get('a');",
    ),
    "kv list shapes": forged_push(
        "(c) => ({ id: c.id, op: 'kv.list', args: { prefix: 5, after: [], limit: 'x' } })",
        "await secutils.kv.get('a');",
    ),
    "kv watch shapes": forged_push(
        "(c) => ({ id: c.id, op: 'kv.watch', args: { prefix: 'a', timeoutMs: -5 } })",
        "await secutils.kv.get('a');",
    ),
    "hmac shapes": forged_push(
        "(c) => ({ id: c.id, op: 'crypto.hmac', args: { hash: 'SHA-256', keyLength: 1e300 }, body: false })",
        "await crypto.subtle.digest('SHA-256', new Uint8Array(1));",
    ),
    "digest hash an object": forged_push(
        "(c) => ({ id: c.id, op: 'crypto.digest', args: { hash: { name: 'SHA-256' } } })",
        "await crypto.subtle.digest('SHA-256', new Uint8Array(1));",
    ),
    "unknown op": forged_push(
        "(c) => ({ id: c.id, op: { o: 1 }, args: null })", "await secutils.kv.get('a');"
    ),
    "huge call id": forged_push(
        "(c) => ({ id: 2 ** 60, op: 'kv.get', args: {}, body: true })",
        "await Promise.race([secutils.kv.get('a'), new Promise((r) => setTimeout(r, 50))]);",
    ),
    "deeply nested call args": "let o = {}; for (let i = 0; i < 5000; i++) o = { o }; await secutils.kv.list(o);",
    "typed array buffer getter replaced": "Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), 'buffer', { get() { return 2 ** 40; } }); await crypto.subtle.digest('SHA-256', new Uint8Array(8));",
    "Map get replaced": "Map.prototype.get = function () { return { slice() { return { buffer: 2 ** 40 }; }, length: 1 }; }; await crypto.subtle.digest('SHA-256', new Uint8Array(8));",
}


# The runtime writes its queue and its report with builtins captured before any
# script ran (js/00_primordials.js, issue 21 item 2), so none of these forgeries
# reaches the host: each run ends as the script's honest calls make it end. Only
# what the host itself refuses fails: nesting past orjson's limit, and 'k', which
# is no seal key (so the host got the real seal call, not the forged one).
HONEST_FAILURES = {
    "deeply nested call args": "could not be read",
    "toJSON on Object.prototype before seal": "Invalid recipient public key",
    "seal args an array": "Invalid recipient public key",
    "seal args a string": "Invalid recipient public key",
}


@pytest.mark.parametrize(("name", "forgery"), FORGERIES.items(), ids=FORGERIES.keys())
def test_forged_host_call_shapes_cannot_reach_the_host(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str,
    upstream: Upstream, name: str, forgery: str,
) -> None:  # fmt: skip
    script = forgery.replace("URL_", repr(upstream.url)).replace("SENDER", READ_SENDER)
    job = run(local_executor, client, admin, hook_id, f"(async () => {{ {script} return {{ body: 'done' }}; }})()")  # fmt: skip
    if name in HONEST_FAILURES:
        assert (job["status"], job["reason"]) == ("failed", "error"), job
        assert HONEST_FAILURES[name] in job["error"], job
    else:
        assert job["status"] == "succeeded", job
        assert job["result"]["body"] == ("x" if "return { body: 'x' }" in forgery else "done")


def test_a_host_side_exception_is_a_failed_run_logged_for_operators(
    local_executor: Executor, client: FlaskClient, admin: Admin, hook_id: str,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    def broken(*_: object) -> None:
        raise AttributeError("'list' object has no attribute 'get'")

    monkeypatch.setattr(HostCalls, "handle", broken)
    with caplog.at_level(logging.ERROR, logger="hooklet.jobs"):
        job = run(local_executor, client, admin, hook_id,
                  "(async () => { await secutils.crypto.seal('k', 'p'); return { body: 'x' }; })()")  # fmt: skip
    assert (job["status"], job["reason"]) == ("failed", "error"), job
    assert "AttributeError" in job["error"] and "operators" in job["error"]
    logged = [r for r in caplog.records if r.exc_info and job["jobId"] in r.getMessage()]
    assert logged and logged[0].exc_info[0] is AttributeError


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        (r'"\ud800"', "\ufffd"),
        (r'"\udc00\ud800"', "\ufffd\ufffd"),
        (r'"\ud83d\ude00 \ud83d"', "\U0001f600 \ufffd"),
        (r'"\\ud800"', "\\ud800"),  # an escaped backslash, then text
        (r'"\\\ud800"', "\\\ufffd"),
    ],
)
def test_read_json_reads_lone_surrogates_as_replacement_characters(raw: str, read: str) -> None:
    assert read_json(raw) == read
