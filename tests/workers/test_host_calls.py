# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""The script runtime's host calls in real V8 against a real redis-server and
a local upstream on 127.0.0.1: secutils' ops (proxy, KV, crypto), the Web
APIs, their limits, and scripts that attack them (issue 15, issue 13 items
5, 10, 12)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.support.stack import RedisServer
from tests.support.upstream import Upstream
from workers.hook_validation import parse_hook
from workers.sandbox.contract import build_context, error_response
from workers.sandbox.host_calls import HostCalls
from workers.sandbox.isolate import Isolate, RunLimits, RunResult, run_script
from workers.settings import Settings
from workers.store import keys
from workers.store.hooks import HookStore
from workers.store.jobs.records import EventRequest, FailureReason

REQUEST = EventRequest("GET", "/t", None, {}, {}, "127.0.0.1:5000", b"")
LIMITS = RunLimits(timeout_ms=5000, heap_mb=10)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    server = RedisServer(Path(tmp_path_factory.mktemp("hostcalls"))).start()
    yield server.client()
    server.stop()


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def run(
    source: str,
    client: redis.Redis | None = None,
    hook: str = "h1",
    limits: RunLimits = LIMITS,
    **settings: object,
) -> tuple[RunResult, HostCalls]:
    s = Settings(**{"egress_allowlist": ("127.0.0.1",), **settings})
    host = HostCalls(s, client, hook)
    isolate = Isolate(limits.heap_mb)
    try:
        return run_script(isolate, source, build_context(REQUEST, {}), limits, host), host
    finally:
        isolate.close()


def body(source: str, *args: object, **kwargs: object) -> object:
    result, _ = run(source, *args, **kwargs)
    assert result.ok, result.error
    return json.loads(result.body)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- secutils.crypto ---------------------------------------------------------------


def test_sha256_is_secutils_vector() -> None:
    result, _ = run("(() => ({ body: secutils.crypto.sha256('YWJj') }))()")
    assert result.body == b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    result, _ = run("(() => ({ body: secutils.crypto.sha256('aGVsbG8=') }))()")
    assert "Invalid data (base64)" in result.error


def _open(private: ec.EllipticCurvePrivateKey, sealed_b64: str) -> bytes:
    blob = base64.urlsafe_b64decode(sealed_b64 + "=" * (-len(sealed_b64) % 4))
    ephemeral, iv, ciphertext = blob[:65], blob[65:77], blob[77:]
    recipient = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral)
    shared = private.exchange(ec.ECDH(), peer)
    key = HKDF(hashes.SHA256(), 32, salt=recipient, info=ephemeral).derive(shared)
    return AESGCM(key).decrypt(iv, ciphertext, None)


def test_seal_opens_with_the_recipients_key() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pub = b64url(private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))  # fmt: skip
    sealed = body(f"""(async () => ({{ body: [
        await secutils.crypto.seal('{pub}', 'x'), await secutils.crypto.seal('{pub}', 'x'),
        await secutils.crypto.seal('{pub}', 'héllo')] }}))()""")
    assert sealed[0] != sealed[1]
    assert len(base64.urlsafe_b64decode(sealed[0] + "==")) == 94
    assert _open(private, sealed[0]) == b"x"
    assert _open(private, sealed[2]) == "héllo".encode()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b64url(b"\x04" * 10), "Recipient public key must be a 65-byte SEC1"),
        (b64url(b"\x00" * 65), "Recipient public key must be a 65-byte SEC1"),
        (b64url(b"\x04" * 65), "Invalid recipient public key (point)"),
        ("not*base64", "Invalid recipient public key (base64)"),
    ],
)
def test_seal_with_a_bad_key_is_a_clear_error(key: str, message: str) -> None:
    result, _ = run(f"(async () => ({{ body: await secutils.crypto.seal('{key}', 'x') }}))()")
    assert result.reason is FailureReason.ERROR and message in result.error
    assert error_response("error", result.error)[0] == 500


# --- Web crypto, URL ---------------------------------------------------------------------


def test_web_crypto_digest_hmac_random_and_url() -> None:
    out = body("""(async () => {
      const enc = new TextEncoder();
      const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
      const key = await crypto.subtle.importKey('raw', enc.encode('k3y'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
      const sig = await crypto.subtle.sign('HMAC', key, enc.encode('payload'));
      const u = new URL('https://example.test/a/b?x=1&y=two#f');
      u.searchParams.append('z', 'a b');
      return { body: {
        sha1: hex(await crypto.subtle.digest('SHA-1', enc.encode('abc'))),
        sha512: hex(await crypto.subtle.digest({ name: 'SHA-512' }, enc.encode('abc'))),
        hmac: hex(sig),
        ok: await crypto.subtle.verify('HMAC', key, sig, enc.encode('payload')),
        bad: await crypto.subtle.verify('HMAC', key, sig, enc.encode('other')),
        uuid: crypto.randomUUID(),
        random: crypto.getRandomValues(new Uint8Array(16)).length,
        url: [u.hostname, u.pathname, u.searchParams.get('y'), u.href],
      } };
    })()""")
    assert out["sha1"] == hashlib.sha1(b"abc").hexdigest()
    assert out["sha512"] == hashlib.sha512(b"abc").hexdigest()
    assert out["hmac"] == hmac.new(b"k3y", b"payload", "sha256").hexdigest()
    assert (out["ok"], out["bad"]) == (True, False)
    assert len(out["uuid"]) == 36 and out["uuid"][14] == "4"
    assert out["url"] == [
        "example.test",
        "/a/b",
        "two",
        "https://example.test/a/b?x=1&y=two&z=a+b#f",
    ]


# --- secutils.kv ------------------------------------------------------------------------


def test_kv_round_trip_as_secutils(client: redis.Redis) -> None:
    out = body(
        """(async () => {
        await secutils.kv.set('req/a', 'aGVsbG8', { ttlSec: 60 });
        const got = await secutils.kv.get('req/a');
        const entry = await secutils.kv.getEntry('req/a');
        const list = await secutils.kv.list({ prefix: 'req/' });
        const del = await secutils.kv.delete('req/a');
        const list2 = await secutils.kv.list({ prefix: 'req/' });
        return { body: { got, count: list.entries.length, key: list.entries[0].key, del,
                         count2: list2.entries.length, ttl: entry.expiresAt - Math.floor(Date.now() / 1000) } };
    })();""",
        client,
        hook="kv-round",
    )
    ttl = out.pop("ttl")
    assert out == {"got": "aGVsbG8", "count": 1, "key": "req/a", "del": True, "count2": 0}
    assert 58 <= ttl <= 60


def test_kv_watch_returns_at_once_or_times_out(client: redis.Redis) -> None:
    out = body(
        """(async () => {
        await secutils.kv.set('req/x', 'AQID', { ttlSec: 60 });
        const hit = await secutils.kv.watch({ prefix: 'req/', timeoutMs: 5000 });
        const miss = await secutils.kv.watch({ prefix: 'none/', timeoutMs: 200 });
        return { body: { n: hit.entries.length, value: hit.entries[0].value, t: hit.timedOut, miss } };
    })()""",
        client,
        hook="kv-watch",
    )
    assert out == {"n": 1, "value": "AQID", "t": False,
                   "miss": {"entries": [], "cursor": None, "timedOut": True}}  # fmt: skip


def test_kv_watch_past_the_deadline_ends_before_it(client: redis.Redis) -> None:
    limits = RunLimits(timeout_ms=1500, heap_mb=10)
    result, _ = run("""(async () => ({ body:
        await secutils.kv.watch({ prefix: 'never/', timeoutMs: 60000 }) }))()""",
        client, hook="kv-deadline", limits=limits)  # fmt: skip
    assert result.ok, result.error
    assert json.loads(result.body)["timedOut"] is True
    assert result.duration_ms < 1500


def test_no_hook_reads_another_hooks_kv(client: redis.Redis) -> None:
    result, _ = run(
        "(async () => { await secutils.kv.set('shared', 'QQ'); })()", client, hook="tenant-a"
    )
    assert result.ok, result.error
    out = body(
        """(async () => ({ body: { v: await secutils.kv.get('shared'),
        n: (await secutils.kv.list({})).entries.length } }))()""",
        client,
        hook="tenant-b",
    )
    assert out == {"v": None, "n": 0}


@pytest.mark.parametrize(
    ("script", "message", "settings"),
    [
        ("secutils.kv.set('k'.repeat(300), 'QQ')", "KV key exceeds the maximum of 256 bytes.", {}),
        (
            "secutils.kv.set('big', 'A'.repeat(5000), { ttlSec: 60 })",
            "KV value exceeds the maximum of 1024 bytes.",
            {"kv_max_value_bytes": 1024},
        ),
        ("secutils.kv.set('k', 'aGVsbG8=')", "KV value is not valid base64url", {}),
        (
            "(async () => { for (let i = 0; i < 10; i++) await secutils.kv.set('e' + i, 'QQ'); })()",
            "KV entry limit reached (5 entries).",
            {"kv_max_entries": 5},
        ),
        (
            "(async () => { for (let i = 0; i < 10; i++) await secutils.kv.set('b' + i, 'A'.repeat(400)); })()",
            "KV total size limit reached (1000 bytes).",
            {"kv_max_total_bytes": 1000},
        ),
        (
            "(async () => { for (let i = 0; i < 300; i++) await secutils.kv.get('x'); })()",
            "Responder KV operation budget exhausted.",
            {},
        ),
        ("secutils.kv.watch({})", "missing field `prefix`", {}),
    ],
)
def test_a_kv_flood_past_each_quota_is_a_clear_error_and_writes_nothing_over(
    client: redis.Redis, script: str, message: str, settings: dict
) -> None:
    hook = f"flood-{abs(hash(script)) % 10**8}"
    result, host = run(f"(async () => {{ await ({script}); }})()", client, hook=hook, **settings)
    assert result.reason is FailureReason.ERROR and message in result.error, result.error
    stats = {k.decode(): int(v) for k, v in client.hgetall(keys.kv_stats(hook)).items()}
    stored = client.hgetall(keys.kv_data(hook))
    # The stats agree with what is stored, and stay within the quotas.
    assert stats.get("entries", 0) == len(stored) == client.zcard(keys.kv_index(hook))
    assert stats.get("bytes", 0) == sum(len(v) for v in stored.values())
    assert len(stored) <= settings.get("kv_max_entries", 100_000)
    assert stats.get("bytes", 0) <= settings.get("kv_max_total_bytes", 2**30)
    assert host.kv_ops <= 201


def test_deleting_a_hook_deletes_its_kv(client: redis.Redis) -> None:
    settings = Settings()
    hook = parse_hook("doomed", {"script": "null"}, settings)
    store = HookStore(client)
    store.put(hook)
    result, _ = run(
        "(async () => { await secutils.kv.set('secret', 'c2VjcmV0'); })()", client, hook="doomed"
    )
    assert result.ok and client.exists(*keys.kv_all("doomed"))
    store.delete("doomed")
    assert not client.exists(*keys.kv_all("doomed"))


def test_kv_if_absent_and_ttl_zero(client: redis.Redis) -> None:
    out = body(
        """(async () => {
        await secutils.kv.set('once', 'QQ', { ifAbsent: true });
        await secutils.kv.set('once', 'Qg', { ifAbsent: true });
        await secutils.kv.set('gone', 'QQ', { ttlSec: 0 });
        return { body: [await secutils.kv.get('once'), await secutils.kv.get('gone')] };
    })()""",
        client,
        hook="kv-absent",
    )
    assert out == ["QQ", None]


# --- op_proxy_request and fetch to a local upstream ----------------------------------------


def test_proxy_transform_and_pure_proxy(upstream: Upstream) -> None:
    out = body(f"""(async () => {{
        const resp = await Deno.core.ops.op_proxy_request({{ url: "{upstream.url}/data" }});
        const body = JSON.parse(Deno.core.decode(new Uint8Array(resp.body)));
        body.modified = true;
        return {{ statusCode: resp.statusCode, headers: resp.headers,
                 body: Array.from(Deno.core.encode(JSON.stringify(body))) }};
    }})()""")
    assert out == {"original": True, "modified": True}
    result, host = run(f"""(async () => await Deno.core.ops.op_proxy_request({{
        url: '{upstream.url}/x', method: 'POST', headers: {{ 'x-a': 'b' }}, body: [104, 105],
        timeout: 5000 }}))()""")  # fmt: skip
    assert (result.status_code, result.body) == (200, b"upstream-response")
    assert result.headers["x-test"] == "test-value"
    assert result.headers["x-original-content-length"] == "17"
    assert host.records[0]["status"] == 200 and host.records[0]["outcome"] == "ok"
    assert host.records[0]["bytesIn"] == 17 and "?" not in host.records[0]["url"]


def test_proxy_redirect_gzip_and_status(upstream: Upstream) -> None:
    out = body(f"""(async () => {{
        const r = await Deno.core.ops.op_proxy_request({{ url: '{upstream.url}/redirect?to=/x' }});
        const z = await Deno.core.ops.op_proxy_request({{ url: '{upstream.url}/gzip' }});
        const e = await Deno.core.ops.op_proxy_request({{ url: '{upstream.url}/status/503' }});
        return {{ body: {{ out: [r.statusCode, r.headers.location, Deno.core.decode(z.body),
                        z.headers['x-original-content-encoding'], 'content-encoding' in z.headers,
                        e.statusCode] }} }};
    }})()""")
    assert out == {"out": [302, "/x", "unzipped", "gzip", False, 503]}


@pytest.mark.parametrize(
    ("request_js", "message", "status"),
    [
        ("{ url: '{U}/slow', timeout: 100 }", "Upstream request timed out", 504),
        ("{ url: 'http://127.0.0.1:1/nope' }", "Failed to connect to upstream", 502),
        ("{ url: 'not-a-url' }", "Invalid URL 'not-a-url': relative URL without a base", 500),
        ("{ url: '{U}/', method: 'INVALID METHOD WITH SPACES' }", "Invalid HTTP method", 500),
        ("{ url: '{U}/', headers: { 'invalid header\\nname': 'x' } }", "Invalid header name", 500),
        ("{ url: '{U}/bomb' }", "Upstream response body too large", 413),
    ],
)
def test_proxy_errors_have_secutils_texts_and_statuses(
    upstream: Upstream, request_js: str, message: str, status: int
) -> None:
    js = request_js.replace("{U}", upstream.url)
    result, _ = run(f"(async () => await Deno.core.ops.op_proxy_request({js}))()")
    assert result.reason is FailureReason.ERROR and message in result.error, result.error
    assert error_response("error", result.error)[0] == status


def test_fetch_and_the_response_api(upstream: Upstream) -> None:
    out = body(f"""(async () => {{
        const r = await fetch('{upstream.url}/echo?token=secret', {{ method: 'POST',
            headers: {{ 'content-type': 'application/json' }}, body: JSON.stringify({{ a: 1 }}) }});
        const j = await r.json();
        const redirected = await fetch('{upstream.url}/redirect?to=/data');
        return {{ body: {{ out: [r.status, r.ok, r.headers.get('content-type'), j.method, j.body,
                        await redirected.text()] }} }};
    }})()""")
    assert out["out"] == [200, True, "application/json", "POST", '{"a":1}', '{"original":true}']


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/data",  # by IP
        "http://localhost:{port}/data",  # by a name that resolves to loopback
        "http://127.0.0.1:{port}/redirect?to=http://10.0.0.1/x",  # by redirect
    ],
)
def test_fetch_to_internal_addresses_is_refused(upstream: Upstream, target: str) -> None:
    url = target.format(port=upstream.server.server_address[1])
    allow = ("127.0.0.1",) if "redirect" in url else ()
    before = upstream.hits
    result, host = run(f"(async () => (await fetch('{url}')).text())()", egress_allowlist=allow)
    assert result.reason is FailureReason.ERROR and "URL not allowed" in result.error
    assert error_response("error", result.error)[0] == 502
    assert host.records[-1]["outcome"] == "refused"
    assert upstream.hits == before + (1 if "redirect" in url else 0)


def test_a_script_that_opens_requests_until_its_limit(upstream: Upstream) -> None:
    result, host = run(f"""(async () => {{
        for (let i = 0; i < 10; i++) await fetch('{upstream.url}/x');
    }})()""", script_max_requests=3)  # fmt: skip
    assert "Outbound request limit reached: 3 requests per run." in result.error
    assert [r["outcome"] for r in host.records] == ["ok", "ok", "ok", "limit"]


# --- the runtime's own surface (issue 13 items 5, 10, 12) ------------------------------


def test_nothing_of_the_runtime_is_reachable_from_a_script() -> None:
    out = body("""(() => ({ body: { found: Reflect.ownKeys(globalThis).map(String)
        .filter((n) => /hooklet|control|callQueue/i.test(n)) } }))()""")
    assert out == {"found": []}


def test_a_script_cannot_lift_the_log_caps_through_shared_prototypes() -> None:
    limits = RunLimits(timeout_ms=5000, heap_mb=10, max_log_lines=5, max_log_bytes=100)
    result, _ = run("""(() => {
        const push = Array.prototype.push;
        Array.prototype.push = function (...a) {
          for (let i = 0; i < 1000; i++) push.call(this, { level: 'log', message: 'x'.repeat(1000) });
          return push.apply(this, a);
        };
        console.log('hi');
        Array.prototype.push = push;
        return null;
    })()""", limits=limits)  # fmt: skip
    assert len(result.logs) <= 5 and sum(len(x["message"]) for x in result.logs) <= 100


@pytest.mark.parametrize(
    ("script", "what"),
    [
        (
            "({ headers: Object.fromEntries([...Array(200)].map((_, i) => ['x-' + i, 'v'])) })",
            "the response has 200 headers",
        ),
        ("({ headers: { 'x-big': 'v'.repeat(40000) } })", "the response headers are"),
        ("(() => { throw new Error('e'.repeat(100000)); })()", "the error text is"),
    ],
)
def test_output_caps_fail_as_output(script: str, what: str) -> None:
    result, _ = run(script)
    assert result.reason is FailureReason.OUTPUT and what in result.error


def test_a_script_cannot_fake_a_memory_failure() -> None:
    result, _ = run("(() => { throw new RangeError('Invalid string length'); })()")
    assert result.reason is FailureReason.ERROR
    result, _ = run("(() => { let s = ''; while (true) s += 'Hello'; })()")
    assert result.reason is FailureReason.MEMORY
    assert error_response(result.reason.value, result.error) == (
        500,
        "Script exceeded memory limit.",
    )


def test_deno_core_helpers() -> None:
    out = body("""(() => {
      const c = Deno.core;
      const round = c.deserialize(c.serialize({ m: new Map([[1, 'a']]), s: new Set([2]), d: new Date(0),
                                                r: /x/gi, u: new Uint16Array([1, 2]), n: NaN, big: 10n }));
      const clone = c.structuredClone([new Date(5)]);
      let bad; try { c.decode([1, 2]); } catch (e) { bad = e.constructor.name + ': ' + e.message; }
      return { body: { out: [
        c.encodeBinaryString(new Uint8Array([0x48, 0x65, 0x6c, 0x6c, 0x6f])),
        c.byteLength('héllo€'), c.byteLength(42), c.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68])),
        round.m.get(1), round.s.has(2), round.d.getTime(), String(round.r), Array.from(round.u),
        Number.isNaN(round.n), String(round.big), c.isDate(clone[0]), clone[0].getTime(),
        c.isMap(new Map()), c.isTypedArray(context.body), c.isTypedArray(new Uint8Array(1)),
        c.isRegExp(/a/), c.isPromise(Promise.resolve()), c.isNativeError(new TypeError('x')), bad,
      ] } };
    })()""")
    assert out["out"] == [
        "Hello", 9, 0, "h", "a", True, 0, "/x/gi", [1, 2], True, "10", True, 5,
        True, False, True, True, True, True, "TypeError: Invalid argument",
    ]  # fmt: skip
