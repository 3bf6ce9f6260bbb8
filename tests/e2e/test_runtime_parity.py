# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""secutils-style scripts through a real stack (gunicorn, Celery, Redis, V8)
with a local upstream on 127.0.0.1: the contract of issue 15 §1-§2 and the
spec's section 9 cases, KV across events and hooks, routes, proxies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env
from tests.support.upstream import Upstream

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    redis_server = RedisServer(tmp_path_factory.mktemp("parity")).start()
    env = hooklet_env(redis_server.url, egress_allowlist="127.0.0.1", trusted_proxies=1)
    worker = Worker(env, redis_server.workdir, name="parity", concurrency=1).start()
    web = Web(env, redis_server.workdir).start()
    yield Api(web.url)
    web.stop()
    worker.stop()
    redis_server.stop()


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def new_id() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def hook(api: Api, script: str | None, **extra: object) -> str:
    hook_id = new_id()
    extra.setdefault("debugHeaders", True)  # X-Hooklet-Job names the job
    api.put_hook(hook_id, mode="sync", script=script, **extra)
    return hook_id


def test_context_echo_and_header_replacement(stack: Api) -> None:
    hook_id = hook(stack, "(() => { return { statusCode: 300, headers: { one: `two` }, body: Deno.core.encode(JSON.stringify(context)) }; })()",
                   response={"statusCode": 200, "headers": {"key": "value"}, "body": "body"})  # fmt: skip
    r = stack.send(hook_id, "/one/two/", method="GET", params={"query": "some"}, data=b"incoming-body",
                   headers={"X-Real-IP": "92.211.80.87", "X-Dup": "a"}, allow_redirects=False)  # fmt: skip
    assert r.status_code == 300
    assert "key" not in r.headers and r.headers["one"] == "two"
    assert "content-type" not in r.headers
    ctx = r.json()
    assert list(ctx)[:5] == ["clientAddress", "method", "headers", "path", "rawQuery"]
    assert ctx["clientAddress"] == "92.211.80.87:0"
    assert (ctx["method"], ctx["path"], ctx["rawQuery"], ctx["query"]) == (
        "GET",
        "/one/two",
        "query=some",
        {"query": "some"},
    )
    assert ctx["body"] == list(b"incoming-body") and "secrets" not in ctx
    assert ctx["headers"]["x-real-ip"] == "92.211.80.87"


def test_raw_query_absent_last_values_and_raw_path(stack: Api) -> None:
    hook_id = hook(stack, "(() => ({ body: Deno.core.encode(JSON.stringify(context)) }))()")
    ctx = stack.send(hook_id, "/no-qs", method="GET").json()
    assert "rawQuery" not in ctx and ctx["query"] == {} and ctx["path"] == "/no-qs"
    ctx = stack.send(hook_id, "/a%20b/?arg=a&arg=b+c", method="GET").json()
    assert ctx["path"] == "/a%20b" and ctx["query"] == {"arg": "b c"}
    assert ctx["clientAddress"].startswith("127.0.0.1:")


def test_client_address_takes_the_trusted_proxys_entry(stack: Api) -> None:
    hook_id = hook(stack, "(() => ({ body: context.clientAddress }))()")
    forged = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
    assert stack.send(hook_id, headers=forged).text == "203.0.113.9:0"


def test_null_and_partial_results_use_the_static_response(stack: Api) -> None:
    static = {"statusCode": 201, "headers": {"x-default": "yes"}, "body": "default-body"}
    null = hook(stack, "(() => { return null; })()", response=static)
    r = stack.send(null, method="GET")
    assert (r.status_code, r.headers["x-default"], r.text) == (201, "yes", "default-body")
    partial = hook(stack, "(() => { return { statusCode: 202 }; })()", response=static)
    r = stack.send(partial, method="GET")
    assert (r.status_code, r.headers["x-default"], r.text) == (202, "yes", "default-body")


def test_skip_request_and_track_response(stack: Api) -> None:
    skip = hook(
        stack, "(async () => ({ body: 'ok', skipRequest: context.path === '/healthz' }))();"
    )
    assert stack.send(skip, "/healthz", method="GET").text == "ok"
    assert stack.send(skip, "/x", method="GET").text == "ok"
    history = stack.http.get(
        f"{stack.base}/api/hooks/{skip}/jobs", headers=stack.admin, timeout=10
    ).json()
    jobs = history["jobs"] if isinstance(history, dict) else history
    assert len(jobs) == 1
    track = hook(stack, "(() => { return { statusCode: 201, headers: { 'X-Resp': 'yes' }, body: new Uint8Array([72, 73]), trackResponse: true }; })()",
                 response={"headers": {"X-Custom": "val"}, "body": "default-body"})  # fmt: skip
    r = stack.send(track, method="GET")
    assert (r.status_code, r.text, r.headers["x-resp"]) == (
        201,
        "HI",
        "yes",
    ) and "x-custom" not in r.headers
    job = stack.job(r.headers["X-Hooklet-Job"])
    assert job["result"]["statusCode"] == 201 and job["result"]["body"] == "HI"


@pytest.mark.parametrize(
    ("script", "status", "text"),
    [
        (
            "(() => { throw new Error('Something unexpected happened'); })()",
            500,
            "Something unexpected happened",
        ),
        (
            "(() => { throw new Error('Upstream request timed out'); })()",
            504,
            "Upstream request timed out",
        ),
        (
            "(() => { throw new Error('URL not allowed: http://169.254.169.254'); })()",
            502,
            "URL not allowed",
        ),
        (
            "(() => { throw new Error('Failed to connect to upstream'); })()",
            502,
            "Failed to connect",
        ),
        (
            "(() => { throw new Error('Upstream response body too large: 20971520 bytes exceeds limit'); })()",
            413,
            "too large",
        ),
        ("(() => { while (true) {} })();", 504, "Script exceeded time limit."),
        (
            "(async () => { let s = ''; while (true) { s += 'Hello'; } })();",
            500,
            "Script exceeded memory limit.",
        ),
        (
            "(async () => ({ secrets: context.secrets.THIRD_PARTY_API_KEY }))()",
            500,
            "TypeError: Cannot read properties of undefined (reading 'THIRD_PARTY_API_KEY')",
        ),
        ("(() => ({ statusCode: 101 }))()", 500, "Error deserializing script result"),
    ],
)
def test_errors_map_to_secutils_statuses(stack: Api, script: str, status: int, text: str) -> None:
    hook_id = hook(stack, script, limits={"timeoutMs": 1000})
    r = stack.send(hook_id, method="GET")
    assert r.status_code == status and text in r.text
    if "limit." in text:
        assert r.text == text
        job = stack.job(r.headers["X-Hooklet-Job"])
        assert job["reason"] == ("timeout" if status == 504 else "memory") and job["error"] != text


def test_static_secret_templates_and_final_statuses_only(stack: Api) -> None:
    hook_id = hook(stack, None, secrets={"API_KEY": "sk-123", "A": "1", "B": "2"},
                   response={"headers": {"Authorization": "Bearer ${secrets.API_KEY}"},
                             "body": "${secrets.A}-${secrets.B}-${secrets.MISSING}"})  # fmt: skip
    r = stack.send(hook_id, method="GET")
    assert r.headers["authorization"] == "Bearer sk-123" and r.text == "1-2-${secrets.MISSING}"
    refused = stack.http.put(f"{stack.base}/api/hooks/{new_id()}", headers=stack.admin, timeout=10,
                             json={"mode": "sync", "response": {"statusCode": 101}})  # fmt: skip
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ("new Uint8Array([72, 73])", b"HI"),
        ('Deno.core.encode("AB")', b"AB"),
        ('"Hello"', b"Hello"),
        ('{ key: "value" }', b'{"key":"value"}'),
        ("[{ a: 1 }]", b'[{"a":1}]'),
        ("[65, 66, 67]", b"ABC"),
        ("[]", b""),
        ("42", b"42"),
        ("true", b"true"),
        ("null", b"static"),
        ('Array.from(Deno.core.encode("Hi"))', b"Hi"),
    ],
)
def test_body_auto_conversion(stack: Api, x: str, expected: bytes) -> None:
    hook_id = hook(stack, f"(async () => ({{ body: {x} }}))()", response={"body": "static"})
    assert stack.send(hook_id, method="GET").content == expected


def test_routes_exact_beats_prefix_and_h_keeps_working(stack: Api) -> None:
    host = (
        f"{uuid.uuid4().hex[:8]}.hooks.example.test"  # only a Host header: we connect to 127.0.0.1
    )
    script = "(async () => ({ body: '{name}:' + context.path + ':' + (context.query.arg ?? 'Query string does not include `arg` parameter') }))();"
    exact = hook(
        stack,
        script.replace("{name}", "exact"),
        route={"host": host, "path": "/dynamic", "pathType": "="},
    )
    prefix = hook(
        stack,
        script.replace("{name}", "prefix"),
        route={"host": host, "path": "/", "pathType": "^"},
    )
    get = lambda path: requests.get(f"{stack.base}{path}", headers={"Host": host}, timeout=30)  # noqa: E731
    assert get("/dynamic?arg=hello").text == "exact:/dynamic:hello"
    assert get("/dynamic?arg=a&arg=b").text == "exact:/dynamic:b"
    assert get("/dynamicx").text.startswith("prefix:/dynamicx:Query string")
    assert get("/other/path").text.startswith("prefix:/other/path")
    assert (
        requests.get(
            f"{stack.base}/nothing", headers={"Host": "unrouted.example.test"}, timeout=30
        ).status_code
        == 404
    )
    assert stack.send(exact, "/via-h", method="GET").text.startswith("exact:/via-h")
    assert stack.send(prefix, method="GET").text.startswith("prefix:/:")


def test_kv_counter_across_events_and_hooks(stack: Api) -> None:
    counter = """(async () => {
      const b64 = (s) => btoa(s).replace(/=+$/, '').replace(/\\+/g, '-').replace(/\\//g, '_');
      const raw = await secutils.kv.get('count');
      const n = (raw ? Number(atob(raw.replace(/-/g, '+').replace(/_/g, '/'))) : 0) + 1;
      await secutils.kv.set('count', b64(String(n)));
      return { body: String(n) };
    })()"""
    a, b = hook(stack, counter), hook(stack, counter)
    assert [stack.send(a, method="GET").text for _ in range(3)] == ["1", "2", "3"]
    assert stack.send(b, method="GET").text == "1"  # b never sees a's counter
    assert stack.send(a, method="GET").text == "4"


def test_proxy_through_the_stack_is_recorded_and_counted(stack: Api, upstream: Upstream) -> None:
    hook_id = hook(
        stack,
        f"""(async () => {{
        return await Deno.core.ops.op_proxy_request({{
          url: '{upstream.url}' + context.path + '?token=secret', method: context.method,
          headers: context.headers, body: context.body, insecure: true, timeout: 5000 }});
    }})()""",
    )
    r = stack.send(hook_id, "/x", data=b"payload")
    assert (r.status_code, r.text, r.headers["x-test"]) == (200, "upstream-response", "test-value")
    job = stack.job(r.headers["X-Hooklet-Job"])
    [call] = job["outbound"]
    assert call["method"] == "POST" and call["status"] == 200 and call["url"] == upstream.url
    history = stack.http.get(
        f"{stack.base}/api/hooks/{hook_id}/jobs", headers=stack.admin, timeout=10
    ).json()
    jobs = history["jobs"] if isinstance(history, dict) else history
    assert jobs[0]["outbound"][0]["url"] == upstream.url + "/x"  # the owner sees the path
    assert "secret" not in json.dumps(call) and call["bytesOut"] > 0 and call["bytesIn"] == 17
    metrics = requests.get(f"{stack.base}/metrics", timeout=10).text
    assert f'hooklet_script_outbound_requests_total{{hook="{hook_id}",outcome="ok"}} 1.0' in metrics


def test_hostile_upstreams_end_as_clear_errors_and_the_node_keeps_serving(
    stack: Api, upstream: Upstream
) -> None:
    bomb = hook(
        stack,
        f"(async () => await Deno.core.ops.op_proxy_request({{ url: '{upstream.url}/bomb' }}))()",
    )
    r = stack.send(bomb, method="GET")
    assert r.status_code == 413 and "Upstream response body too large" in r.text
    internal = hook(
        stack, "(async () => (await fetch('http://169.254.169.254/latest/meta-data/')).text())()"
    )
    r = stack.send(internal, method="GET")
    assert r.status_code == 502 and "URL not allowed" in r.text
    ok = hook(stack, "(() => ({ body: 'still here' }))()")
    assert stack.send(ok, method="GET").text == "still here"


# --- issue 13 items 4, 5, 10, 12 through the stack ------------------------------------------


def test_the_runtime_internals_cannot_lift_the_output_caps(stack: Api) -> None:
    probe = hook(stack, "(() => ({ body: typeof __hooklet }))()")
    assert stack.send(probe, method="GET").text == "undefined"
    flood = hook(
        stack,
        """(() => {
        const push = Array.prototype.push;
        Array.prototype.push = function (...a) {
          const line = { level: 'log', message: 'x'.repeat(10000) };
          for (let i = 0; i < 200; i++) push.call(this, line);
          return push.apply(this, a);
        };
        console.log('hi');
        Array.prototype.push = push;
        return { headers: { 'x-big': 'v'.repeat(1024 * 1024) } };
    })()""",
    )
    r = stack.send(flood, method="GET")
    assert r.status_code == 500
    job = stack.job(r.headers["X-Hooklet-Job"])
    assert job["reason"] == "output" and "headers" in job["error"]
    assert len(json.dumps(job)) < 64 * 1024
    huge_error = hook(stack, "(() => { throw new Error('e'.repeat(4 * 1024 * 1024)); })()")
    job = stack.job(stack.send(huge_error, method="GET").headers["X-Hooklet-Job"])
    assert job["reason"] == "output" and len(job["error"]) < 2048


def test_a_tampered_builtin_never_reaches_another_hook(stack: Api) -> None:
    """A script's changes persist only in its own hook's warm isolates (issue 21)."""
    tampering = hook(
        stack,
        """(() => {
        const seen = [...'ab'].join('');
        String.prototype[Symbol.iterator] = function* () { yield 'HIJACKED'; };
        return { body: seen };
    })()""",
    )
    other = hook(stack, "({ body: [...'ab'].join('') })")
    for _ in range(3):
        assert stack.send(tampering, method="GET").text in ("ab", "HIJACKED")
        assert stack.send(other, method="GET").text == "ab"


def test_a_script_cannot_fake_reason_memory(stack: Api) -> None:
    hook_id = hook(stack, "(() => { throw new RangeError('Invalid string length'); })()")
    r = stack.send(hook_id, method="GET")
    assert r.status_code == 500 and "Invalid string length" in r.text
    assert stack.job(r.headers["X-Hooklet-Job"])["reason"] == "error"


def test_secutils_doc_snippets(stack: Api) -> None:
    ui = hook(
        stack,
        """(() => {
        const { method, path, body } = context;
        return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: { method, path, body } };
    })();""",
    )
    r = stack.send(ui, "/t", data=b"hi")
    assert r.headers["content-type"] == "application/json"
    assert r.content == b'{"method":"POST","path":"/t","body":[104,105]}'
    length = hook(
        stack,
        """(() => {
      const body = JSON.stringify({ status: 'ok' });
      return { headers: { 'Content-Type': 'application/json', 'Content-Length': String(Deno.core.byteLength(body)) }, body };
    })();""",
    )
    r = stack.send(length, method="GET")
    assert (r.text, r.headers["content-length"]) == ('{"status":"ok"}', "15")
    basic = hook(stack, """(async () => {
      const auth = context.headers['authorization'] ?? '';
      const [user, pass] = atob(auth.replace(/^Basic /, '')).split(':');
      if (!auth.startsWith('Basic ') || pass !== context.secrets.APP_PASSWORD) {
        return { statusCode: 401, headers: { 'WWW-Authenticate': 'Basic realm="Protected", charset="UTF-8"',
                 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Authentication required' };
      }
      return null;
    })();""", secrets={"APP_PASSWORD": "pw"}, response={"body": "welcome"})  # fmt: skip
    r = stack.send(basic, method="GET")
    assert (r.status_code, r.text) == (401, "Authentication required")
    assert r.headers["www-authenticate"] == 'Basic realm="Protected", charset="UTF-8"'
    assert (
        stack.send(basic, method="GET", headers={"Authorization": "Basic dTpwdw=="}).text
        == "welcome"
    )
