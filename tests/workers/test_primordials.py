# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""What the runtime trusts now that no check runs after a script (issue 21
item 2): it uses builtins captured before any script ran, so a script that
replaces every builtin it can reach changes only its own realm. Its next runs
on the same warm isolate still get their own context, console, host calls and
report; no other hook is ever given that isolate; and every limit holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from workers.sandbox.bridge import HostCallError, HostReply
from workers.sandbox.contract import build_context
from workers.sandbox.isolate import Isolate, RunLimits, RunResult, run_script
from workers.sandbox.pool import IsolatePool
from workers.store.jobs.records import EventRequest, FailureReason

LIMITS = RunLimits(timeout_ms=3000, heap_mb=16, max_log_lines=5, max_log_bytes=200)
REQUEST = EventRequest(
    "POST",
    "/orders/7",
    "a=1&b=2",
    {"a": "1", "b": "2"},
    {"x-sender": "s1"},
    "10.0.0.1",
    b"\x00hi\xff",
)

# Replaces every function and accessor it can reach: each global's value, the
# prototype of each constructor, the intrinsics with no global name, and the
# global object itself, string- and symbol-keyed. Then it adds what the
# runtime could trip on: toJSON on Object.prototype and Array.prototype,
# index setters on Array.prototype, accessors on Object.prototype named as the
# runtime's own fields. (Not those of objects the script hands over: a
# result's inherited `statusCode` or a request's inherited `method` is the
# script's own answer, read as JavaScript reads it.) KEEP names what it leaves, so the script can still
# await (its own promises go through its own `then`).
TAMPER_ALL = """
const KEEP = new Set(KEEP_NAMES);
const Failure = Error;
const junk = function () { throw new Failure('tampered'); };
const ownKeys = Reflect.ownKeys, describe = Reflect.getOwnPropertyDescriptor, define = Reflect.defineProperty;
const proto = Object.getPrototypeOf, isArray = Array.isArray;
const roots = [globalThis, proto(Uint8Array), proto(Uint8Array.prototype), proto(async function () {}),
  proto(function* () {}), proto(function* () {}).prototype, proto(async function* () {}),
  proto([][Symbol.iterator]()), proto(proto([][Symbol.iterator]())), proto(new Map().entries()),
  proto(new Set().values()), proto(''[Symbol.iterator]()), proto(/x/[Symbol.matchAll]('')), Promise.prototype];
for (const name of ownKeys(globalThis)) {
  const value = globalThis[name];
  if (value && (typeof value === 'object' || typeof value === 'function')) {
    roots.push(value);
    if (value.prototype) roots.push(value.prototype);
  }
}
const plan = [];
const seen = new Set();
for (const target of roots) {
  if (seen.has(target)) continue;
  seen.add(target);
  for (const key of ownKeys(target)) {
    const label = (target === Promise.prototype ? 'Promise.prototype.' : '') + String(key);
    if (KEEP.has(label)) continue;
    const d = describe(target, key);
    if (!d.configurable && !d.writable) continue;
    if (typeof d.value === 'function' || d.get || d.set) plan.push([target, key, 'value' in d]);
  }
}
// Descriptors inherit nothing: the accessors below would change them too.
const forge = { __proto__: null, get() { return 'forged'; }, set() {}, configurable: true };
for (const name of ['ok', 'error', 'logs', 'logsDropped', 'idle', 'restartable', 'text', 'json', 'bytes', 'calls',
  'id', 'op', 'args', 'value', 'level', 'message', 'lines', 'source', 'seed', 'key', 'hash', 'redirect']) {
  define(Object.prototype, name, forge);
}
for (const index of ['0', '1', '2', '3']) define(Array.prototype, index, forge);
define(Object.prototype, 'toJSON', { __proto__: null, value: () => 'forged', writable: true, configurable: true });
define(Array.prototype, 'toJSON', { __proto__: null, value: () => 'forged', writable: true, configurable: true });
let replaced = 0;
for (let i = 0; i < plan.length; i++) {
  const target = plan[i][0], key = plan[i][1], isData = plan[i][2];
  const done = isData
    ? define(target, key, { __proto__: null, value: junk, writable: true, configurable: true })
    : define(target, key, { __proto__: null, get: junk, set: junk, configurable: true });
  if (done) replaced++;
}
"""


def tamper_all(keep: tuple[str, ...] = ()) -> str:
    return TAMPER_ALL.replace("KEEP_NAMES", json.dumps(list(keep)))


@dataclass
class RecordingHost:
    """Answers every host call and records what reached the host."""

    calls: list[tuple[str, Any, bytes | None]] = field(default_factory=list)

    def handle(self, op: str, args: Any, body: bytes | None, deadline: float) -> HostReply:
        self.calls.append((op, args, body))
        if op == "kv.get":
            return HostReply({"key": args.get("key"), "value": "stored"})
        if op in ("crypto.digest", "crypto.hmac"):
            return HostReply(None, b"\x01\x02")
        if op == "proxy":
            raise HostCallError("no network here")
        if op == "fetch":
            return HostReply(
                {"status": 200, "headers": [["X-Up", " 1 "]], "url": args["url"]}, b"answer"
            )
        return HostReply(None)


def execute(
    isolate: Isolate, source: str, host: RecordingHost | None = None, limits: RunLimits = LIMITS
) -> RunResult:
    return run_script(isolate, source, build_context(REQUEST, {"TOKEN": "t0"}), limits, host)


# What the runtime must still do in a run after its realm was wrecked: give
# the whole context, capture the console, send host calls as made and report
# the result. Only syntax and the documented APIs are used (every builtin is junk).
PROBE = """(() => {
  const c = context;
  console.log('probe', c.method, c.path, 7);
  secutils.kv.set('k', 'v');
  Deno.core.ops.op_proxy_request({ url: 'http://127.0.0.1:9/p', method: 'PUT', headers: { 'x-a': '1' }, body: [1, 2, 300] });
  return { statusCode: 201, headers: { 'x-b': '2' },
           body: c.method + ' ' + c.path + ' ' + c.rawQuery + ' ' + c.query.b + ' ' + c.headers['x-sender'] + ' ' +
                 c.clientAddress + ' ' + c.secrets.TOKEN + ' ' + c.body.length + ' ' + c.body[0] + ' ' + c.body[3] };
})()"""
PROBE_BODY = b"POST /orders/7 a=1&b=2 2 s1 10.0.0.1 t0 4 0 255"


def assert_probe_honest(result: RunResult) -> None:
    assert result.ok, result.error
    assert (result.status_code, result.headers, result.body) == (201, {"x-b": "2"}, PROBE_BODY)
    assert result.logs == [{"level": "log", "message": "probe POST /orders/7 7"}]
    assert result.idle and result.restartable


def test_a_script_that_replaces_every_builtin_leaves_its_next_runs_intact() -> None:
    isolate = Isolate(LIMITS.heap_mb)
    host = RecordingHost()
    try:
        # Run 1: everything but what `await` needs is junk; the calls made
        # afterwards reach the host exactly as made, and their answers return.
        first = execute(isolate, "(async () => {"
            "const kv = secutils.kv, ops = Deno.core.ops, log = console.log, subtle = crypto.subtle, U8 = Uint8Array;"
            + tamper_all(keep=("Promise.prototype.then", "Promise.prototype.constructor"))
            + "log('replaced', replaced > 500);"
            "globalThis.wreck = { define, junk, promises: Promise.prototype };"
            "const got = await kv.get('a');"
            # The script's own objects are read as it defines them: this one
            # inherits no toJSON.
            "await kv.set('b', 'v2', { __proto__: null, ttlSec: 5 });"
            "const digest = await subtle.digest('SHA-256', [104, 105]);"
            "let refused = ''; try { await ops.op_proxy_request({ url: 'http://127.0.0.1:9/x', body: 'hé' }); } catch (e) { refused = e.message; }"
            "return { statusCode: 202, headers: { 'x-got': got }, body: refused + ' ' + new U8(digest)[1] };"
            "})()", host)  # fmt: skip
        assert first.ok, first.error
        assert (first.status_code, first.headers, first.body) == (
            202,
            {"x-got": "stored"},
            b"no network here 2",
        )
        assert first.logs == [{"level": "log", "message": "replaced true"}]
        assert host.calls == [
            ("kv.get", {"key": "a"}, None),
            ("kv.set", {"key": "b", "value": "v2", "opts": {"ttlSec": 5}}, None),
            ("crypto.digest", {"hash": "SHA-256"}, b"hi"),
            (
                "proxy",
                {
                    "url": "http://127.0.0.1:9/x",
                    "method": "GET",
                    "headers": {},
                    "timeout": None,
                    "insecure": False,
                    "decompress": True,
                },
                "hé".encode(),
            ),
        ]
        assert first.restartable and first.idle  # so the pool keeps it for this hook

        # Run 2 on the same isolate: Promise.prototype.then and constructor too.
        host.calls.clear()
        second = execute(isolate, """(() => {
          const junk = { __proto__: null, value: wreck.junk, writable: true, configurable: true };
          wreck.define(wreck.promises, 'then', junk);
          wreck.define(wreck.promises, 'constructor', junk);
          return { body: 'wrecked' };
        })()""", host)  # fmt: skip
        assert second.ok and second.body == b"wrecked", second.error

        # Runs 3 and 4: the wreck persists (Cloudflare semantics), the runtime
        # does not notice it.
        for _ in range(2):
            host.calls.clear()
            probe = execute(isolate, PROBE, host)
            assert_probe_honest(probe)
            # The result is settled first: queued calls are not served then.
            assert host.calls == []
        # The script's changes are still there for its own next run.
        still = execute(
            isolate, "({ body: '' + (JSON.parse === wreck.junk && Object === wreck.junk) })"
        )
        assert still.ok and still.body == b"true", still
    finally:
        isolate.close()


def test_host_calls_after_tampering_send_what_the_script_asked() -> None:
    """Each trick that used to forge or alter a call, made before the calls."""
    isolate = Isolate(LIMITS.heap_mb)
    host = RecordingHost()
    tricks = """
      Object.prototype.toJSON = function () { return { forged: true }; };
      Array.prototype.toJSON = function () { return ['forged']; };
      Array.prototype.push = function () { return 0; };
      Array.prototype[Symbol.iterator] = function* () { yield ['x-forged', '1']; };
      Map.prototype.get = function () { return new Uint8Array(9); };
      Map.prototype.set = function () { return this; };
      Map.prototype.forEach = function () {};
      JSON.stringify = () => '{"forged":true}';
      JSON.parse = () => ({ forged: true });
      Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), 'length', { get() { return 1; } });
      Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), 'buffer', { get() { return new ArrayBuffer(1); } });
      Object.defineProperty(Object.prototype, 'args', { set() {}, get() { return 'forged'; } });
      Object.defineProperty(Array.prototype, '0', { set() {}, get() { return 'forged'; } });
      Object.defineProperty(Promise, Symbol.species, { get() { return function () {}; } });
      Headers.prototype.append = Headers.prototype.set = function () {};
      Object.setPrototypeOf(Headers.prototype, null);
    """
    # core-js's URL (library code in the script's realm) calls String.prototype
    # methods as it finds them, so these come after fetch has parsed its URL.
    string_tricks = """
      String.prototype.toLowerCase = function () { return 'x-forged'; };
      String.prototype.trim = function () { return 'forged'; };
      String.prototype.toUpperCase = function () { return 'FORGED'; };
      String.prototype.indexOf = function () { return -1; };
    """
    try:
        new_url = "new URL('http://127.0.0.1:9/');"  # core-js compiled before the tricks
        result = execute(isolate, "(async () => {" + new_url + tricks + """
          const response = await fetch('http://127.0.0.1:9/f?q=1', { method: 'post', headers: { 'X-One': ' a ' }, body: 'abc' });
          const answer = response.status + ' ' + (await response.text()) + ' ' + response.headers.get('x-up');
          """ + string_tricks + """
          const made = new Headers({ 'X-Two': ' b ' }).get('X-TWO');
          await secutils.kv.set('k', 'v');
          // Bytes made without the iterator the script replaced.
          const raw = new Uint8Array(2); raw[0] = 7; raw[1] = 7;
          const data = new Uint8Array(3); data[0] = 1; data[1] = 2; data[2] = 3;
          const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
          await crypto.subtle.sign('HMAC', key, data);
          return { body: answer + ' ' + made };
        })()""", host)  # fmt: skip
        assert result.ok, result.error
        assert result.body == b"200 answer 1 b"
        fetch_call, kv_call, hmac_call = host.calls
        # The URL is what core-js's parser, library code in the script's realm
        # that calls Array.prototype methods as it finds them, made of it; the
        # host parses and guards every URL itself. All else is as asked.
        assert isinstance(fetch_call[1].pop("url"), str)
        assert fetch_call == (
            "fetch",
            {
                "method": "POST",
                "headers": [["content-type", "text/plain;charset=UTF-8"], ["x-one", "a"]],
                "redirect": "follow",
            },
            b"abc",
        )
        assert kv_call == ("kv.set", {"key": "k", "value": "v", "opts": {}}, None)
        assert hmac_call == (
            "crypto.hmac",
            {"hash": "SHA-256", "keyLength": 2},
            b"\x07\x07\x01\x02\x03",
        )
    finally:
        isolate.close()


# Each limit's script uses syntax only: every builtin is junk by then. SETUP
# runs in the wrecking run, with its saved helpers.
@pytest.mark.parametrize(
    ("setup", "script", "reason", "text"),
    [
        ("", "for (;;) {}", FailureReason.TIMEOUT, "timed out"),
        ("", "({ then() {} })", FailureReason.TIMEOUT, "timed out"),
        # Every object a thenable that never settles: still ends at the deadline.
        ("proto({}).then = function () {};", "({ body: 'x' })", FailureReason.TIMEOUT, "timed out"),
        (
            "",
            "const o = {}; for (let i = 0; ; i++) o['k' + i] = { s: 'x' + i };",
            FailureReason.MEMORY,
            "heap limit",
        ),
        (
            "",
            "let s = 'x'; for (let i = 0; i < 21; i++) s = s + s; ({ body: s })",
            FailureReason.OUTPUT,
            "the result body",
        ),
        (
            "",
            "let v = 'v'; for (let i = 0; i < 16; i++) v = v + v; ({ headers: { 'x-big': v } })",
            FailureReason.OUTPUT,
            "headers",
        ),
        (
            "",
            "const h = {}; for (let i = 0; i < 200; i++) h['x-' + i] = 'v'; ({ headers: h })",
            FailureReason.OUTPUT,
            "200 headers",
        ),
    ],
    ids=[
        "loop",
        "never-settles",
        "thenable-everything",
        "heap",
        "result-body",
        "header-bytes",
        "header-count",
    ],
)
def test_limits_hold_in_a_wrecked_realm(
    setup: str, script: str, reason: FailureReason, text: str
) -> None:
    isolate = Isolate(LIMITS.heap_mb)
    try:
        wreck = execute(isolate, "(() => {" + tamper_all() + setup + "return null; })()")
        assert wreck.ok, wreck.error
        # The deadline cases run to it: 500 ms proves it holds as well as 3 s.
        deadline = FailureReason.TIMEOUT
        limits = replace(LIMITS, timeout_ms=500) if reason is deadline else LIMITS
        result = execute(isolate, script, limits=limits)
        assert result.reason is reason, result
        assert text in (result.error or "")
    finally:
        isolate.close()


def test_log_caps_hold_in_a_wrecked_realm() -> None:
    isolate = Isolate(LIMITS.heap_mb)
    try:
        execute(isolate, "(() => {" + tamper_all() + "return null; })()")
        result = execute(isolate, """(() => {
          for (let i = 0; i < 50; i++) console.log('line ' + i + ' ' + 'abcdefghij' + 'abcdefghij' + 'abcdefghij');
          return null;
        })()""")  # fmt: skip
        assert result.ok, result.error
        assert len(result.logs) <= LIMITS.max_log_lines
        assert sum(len(line["message"]) for line in result.logs) <= LIMITS.max_log_bytes
        assert result.logs[0]["message"].startswith("line 0 abcdefghij")
        assert result.logs_dropped >= 45
    finally:
        isolate.close()


def test_a_wrecked_hooks_isolate_is_never_handed_to_another_hook() -> None:
    pool = IsolatePool(max_isolates=8, max_uses=100, max_heap_mb=64)
    probe = "({ body: JSON.stringify([1, 2].map((x) => x + 1)) + String(typeof Object.keys) })"
    try:
        wrecked = pool.acquire("hook-a", 1, LIMITS.heap_mb, fresh=False)
        run = execute(wrecked, "(() => {" + tamper_all() + "return { body: 'done' }; })()")
        assert run.ok, run.error
        pool.release(wrecked, "hook-a", 1, run, fresh=False)
        for hook, version in (("hook-b", 1), ("hook-a", 2)):
            other = pool.acquire(hook, version, LIMITS.heap_mb, fresh=False)
            assert other is not wrecked
            seen = execute(other, probe)
            assert seen.ok and seen.body == b"[2,3]function", seen
            pool.release(other, hook, version, seen, fresh=False)
        fresh = pool.acquire("hook-a", 1, LIMITS.heap_mb, fresh=True)
        assert fresh is not wrecked
        fresh.close()
        # The same hook and version get their own realm back, as they left it.
        again = pool.acquire("hook-a", 1, LIMITS.heap_mb, fresh=False)
        assert again is wrecked
        assert_probe_honest(execute(again, PROBE, RecordingHost()))
        pool.release(again, "hook-a", 1, run, fresh=False)
    finally:
        pool.clear()


@pytest.mark.parametrize(
    "freeze",
    [
        "Object.freeze(globalThis)",
        "Object.defineProperty(globalThis, 'context', { value: { method: 'FAKE' }, configurable: false })",
        "Object.defineProperty(globalThis, 'console', { value: { log() {} }, configurable: false })",
    ],
    ids=["frozen-global", "context-pinned", "console-pinned"],
)
def test_a_run_that_pins_context_or_console_retires_its_isolate(freeze: str) -> None:
    pool = IsolatePool(max_isolates=8, max_uses=100, max_heap_mb=64)
    try:
        isolate = pool.acquire("pin", 1, LIMITS.heap_mb, fresh=False)
        run = execute(isolate, f"(() => {{ {freeze}; return {{ body: 'ok' }}; }})()")
        assert run.ok and not run.restartable, run
        pool.release(isolate, "pin", 1, run, fresh=False)
        assert isolate.closed  # never given another run with a context it cannot set
        nxt = pool.acquire("pin", 1, LIMITS.heap_mb, fresh=False)
        assert_probe_honest(execute(nxt, PROBE, RecordingHost()))
        nxt.close()
        # Had it been reused anyway, the run fails; it never sees a fake context.
        kept = Isolate(LIMITS.heap_mb)
        try:
            execute(kept, f"(() => {{ {freeze}; return null; }})()")
            refused = execute(kept, PROBE, RecordingHost())
            assert refused.reason is FailureReason.ERROR and "could not start" in refused.error
            assert kept.poisoned
        finally:
            kept.close()
    finally:
        pool.clear()
