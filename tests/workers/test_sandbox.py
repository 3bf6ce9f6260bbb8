"""The script contract, run in real V8 through the sandbox."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.support.stack import wait_until
from workers.sandbox.contract import build_context, merge_response
from workers.sandbox.isolate import (
    Isolate,
    RunLimits,
    RunResult,
    _Interrupted,
    check_syntax,
    run_script,
)
from workers.store.jobs.records import EventRequest, FailureReason

REQUEST = EventRequest(
    method="POST",
    path="/orders/7",
    raw_query="a=1&b=two",
    query={"a": "1", "b": "two"},
    headers={"content-type": "application/json", "x-token": "abc"},
    client_address="10.1.2.3",
    body=b'{"items":[1,2,3]}',
)
LIMITS = RunLimits(timeout_ms=2000, heap_mb=10)


def run(source: str, secrets: dict | None = None, limits: RunLimits = LIMITS) -> RunResult:
    isolate = Isolate(limits.heap_mb)
    try:
        return run_script(isolate, source, build_context(REQUEST, secrets or {}), limits)
    finally:
        isolate.close()


def body_json(result: RunResult) -> object:
    assert result.ok, result.error
    return json.loads(result.body)


def test_context_carries_the_whole_request() -> None:
    result = run("(async () => ({ body: context }))();")
    ctx = body_json(result)
    assert ctx == {
        "method": "POST",
        "path": "/orders/7",
        "rawQuery": "a=1&b=two",
        "query": {"a": "1", "b": "two"},
        "headers": {"content-type": "application/json", "x-token": "abc"},
        "body": list(b'{"items":[1,2,3]}'),
        "clientAddress": "10.1.2.3",
    }
    assert "secrets" not in ctx


def test_secrets_are_in_context_when_the_hook_has_them() -> None:
    result = run("(() => ({ body: context.secrets.apiKey }))()", secrets={"apiKey": "s3cr3t"})
    assert result.body == b"s3cr3t"


def test_the_design_doc_example_runs_unchanged() -> None:
    source = """(async () => {
  const payload = JSON.parse(String.fromCharCode(...context.body));
  console.log("got", context.method, context.path);
  return { statusCode: 201, headers: { "content-type": "application/json" },
           body: { ok: true, n: payload.items.length } };
})();"""
    result = run(source)
    assert result.status_code == 201
    assert result.headers == {"content-type": "application/json"}
    assert json.loads(result.body) == {"ok": True, "n": 3}
    assert result.logs == [{"level": "log", "message": "got POST /orders/7"}]


def test_old_style_function_body_with_return() -> None:
    result = run('const n = context.query.a;\nreturn { statusCode: 202, body: "n=" + n };')
    assert (result.status_code, result.body) == (202, b"n=1")


def test_a_plain_object_expression_is_a_result() -> None:
    assert run('({ body: "plain" })').body == b"plain"


@pytest.mark.parametrize(
    ("expression", "expected", "is_json"),
    [
        ("new Uint8Array([0, 1, 255])", b"\x00\x01\xff", False),
        ("new Uint8Array([9, 8, 7, 6]).subarray(1, 3)", b"\x08\x07", False),
        ("new Uint8Array([1, 2]).buffer", b"\x01\x02", False),
        ('"héllo"', "héllo".encode(), False),
        ("[104, 105]", b"hi", False),
        ('{ a: [1, "x"] }', b'{"a":[1,"x"]}', True),
        ("42", b"42", True),
        # secutils (issue 15): an array starting with a number is bytes, each `as u8`.
        ("[1, 300]", b"\x01\xff", False),
    ],
)
def test_body_conversions(expression: str, expected: bytes, is_json: bool) -> None:
    result = run(f"(async () => ({{ body: {expression} }}))()")
    assert result.ok, result.error
    assert (result.body, result.body_is_json) == (expected, is_json)


@pytest.mark.parametrize("value", ["null", "undefined", "(async () => null)()"])
def test_null_or_undefined_means_all_defaults(value: str) -> None:
    result = run(value)
    assert result.ok
    merged = merge_response(result, {"statusCode": 204, "headers": {"x-static": "1"}})
    assert merged == {"statusCode": 204, "headers": {"x-static": "1"}, "body": b""}


def test_missing_parts_fall_back_to_the_static_response() -> None:
    result = run('({ headers: { "X-From-Script": "yes" } })')
    static = {"statusCode": 418, "headers": {"x-static": "1"}, "body": "static body"}
    # Issue 15: script headers replace the static ones whole, as in secutils.
    assert merge_response(result, static) == {
        "statusCode": 418,
        "headers": {"x-from-script": "yes"},
        "body": b"static body",
    }


def test_a_json_body_adds_no_content_type() -> None:
    # Issue 15: as secutils, no header is added that neither side set.
    merged = merge_response(run("({ body: { ok: true } })"), {})
    assert merged == {"statusCode": 200, "headers": {}, "body": b'{"ok":true}'}


def test_console_levels_are_captured_in_order() -> None:
    result = run('console.info("i", 1); console.warn({a: 1}); console.error("e"); null')
    assert result.logs == [
        {"level": "info", "message": "i 1"},
        {"level": "warn", "message": '{"a":1}'},
        {"level": "error", "message": "e"},
    ]


def test_console_is_capped_in_lines_and_bytes() -> None:
    limits = RunLimits(timeout_ms=2000, heap_mb=10, max_log_lines=5, max_log_bytes=1000)
    result = run("for (let i = 0; i < 100; i++) console.log('line', i); null", limits=limits)
    assert len(result.logs) == 5 and result.logs_dropped == 95
    result = run("console.log('x'.repeat(5000)); null", limits=limits)
    assert len(result.logs[0]["message"]) == 1000 and result.logs_dropped == 1


def test_a_thrown_error_fails_with_the_scripts_line() -> None:
    result = run('(async () => {\n  const a = 1;\n  throw new Error("boom");\n})();')
    assert result.reason is FailureReason.ERROR
    assert result.error.startswith("Error: boom")
    assert "hook.js:3" in result.error


def test_a_rejected_non_error_value_is_reported() -> None:
    result = run('Promise.reject("nope")')
    assert result.reason is FailureReason.ERROR and "nope" in result.error


def test_results_of_the_wrong_shape_are_errors() -> None:
    assert "must return an object" in run('"just a string"').error
    assert "statusCode" in run("({ statusCode: 99 })").error


def test_timers_and_awaits_work() -> None:
    source = (
        "(async () => { await new Promise(r => setTimeout(r, 30)); return { body: 'late' }; })()"
    )
    assert run(source).body == b"late"


def test_web_helpers_exist() -> None:
    source = """({ body: [
      new TextDecoder().decode(new TextEncoder().encode("ünï €")),
      btoa("hello"), atob("aGVsbG8="), typeof require, typeof process, typeof fetch,
    ].join("|") })"""
    # Issue 15 adds fetch.
    assert run(source).body.decode() == "ünï €|aGVsbG8=|hello|undefined|undefined|function"


def test_check_syntax_names_the_line() -> None:
    assert check_syntax("(async () => {\n  return 1;\n})();") is None
    assert check_syntax("return { body: 1 };") is None
    error = check_syntax("const a = 1;\nconst = 2;")
    assert error is not None and "line 2" in error


def test_check_syntax_never_runs_the_script() -> None:
    assert check_syntax("while (true) {}") is None


def test_set_timeout_with_zero_delay_fires() -> None:
    source = "(async () => { await new Promise(r => setTimeout(r, 0)); return { body: 'ok' }; })()"
    assert run(source).body == b"ok"


SPINS = {
    "a busy loop": "while (true) {}",
    "a microtask loop": "(async () => { for (;;) await null; })()",
}


@pytest.mark.parametrize("source", SPINS.values(), ids=SPINS.keys())
def test_a_spinning_script_times_out_and_its_isolate_is_retired(source: str) -> None:
    isolate = Isolate(10)
    limits = RunLimits(timeout_ms=300, heap_mb=10)
    try:
        started = time.monotonic()
        result = run_script(isolate, source, build_context(REQUEST, {}), limits)
        assert result.reason is FailureReason.TIMEOUT
        assert time.monotonic() - started < 2
        assert isolate.poisoned
    finally:
        isolate.close()


@pytest.mark.parametrize("source", SPINS.values(), ids=SPINS.keys())
def test_an_interrupt_from_another_thread_ends_the_run_at_once(source: str) -> None:
    isolate = Isolate(10)
    limits = RunLimits(timeout_ms=30_000, heap_mb=10)
    stop = threading.Timer(0.2, isolate.interrupt, (FailureReason.MEMORY, "over the RSS cap"))
    try:
        stop.start()
        started = time.monotonic()
        result = run_script(isolate, source, build_context(REQUEST, {}), limits)
        assert (result.reason, result.error) == (FailureReason.MEMORY, "over the RSS cap")
        assert time.monotonic() - started < 2
    finally:
        stop.cancel()
        isolate.close()


def test_a_warm_isolate_answers_each_run_with_its_own_result() -> None:
    isolate = Isolate(10)
    try:
        for n in range(300):
            context = build_context(REQUEST, {"n": str(n)})
            result = run_script(isolate, "({ body: context.secrets.n })", context, LIMITS)
            assert result.body == str(n).encode()
    finally:
        isolate.close()


class _CancelIgnored:
    """mini-racer's library, except that cancelling a task does nothing: a V8
    state that ignores interruption, which real scripts rarely reach."""

    def __init__(self, dll: object) -> None:
        self._dll = dll
        self.cancelled: list[int] = []

    def mr_cancel_task(self, ctx: object, task: int) -> None:
        self.cancelled.append(task)

    def __getattr__(self, name: str) -> object:
        return getattr(self._dll, name)


def test_an_interrupt_returns_at_once_even_if_v8_ignores_it() -> None:
    isolate = Isolate(10)
    real = isolate._ctx._dll
    ignoring = _CancelIgnored(real)
    object.__setattr__(isolate._ctx, "_dll", ignoring)  # a frozen dataclass
    stop = threading.Timer(0.2, isolate.interrupt, (FailureReason.MEMORY, "over the RSS cap"))
    try:
        stop.start()
        started = time.monotonic()
        result = run_script(isolate, "while (true) {}", build_context(REQUEST, {}), LIMITS)
        assert (result.reason, result.error) == (FailureReason.MEMORY, "over the RSS cap")
        assert time.monotonic() - started < 1.5  # well before the 2 s timeout
    finally:
        stop.cancel()
        object.__setattr__(isolate._ctx, "_dll", real)
        for task in ignoring.cancelled:  # now really stop the loop
            real.mr_cancel_task(isolate._ctx._ctx, task)
        isolate.close()


def test_a_timed_out_isolate_refuses_to_evaluate_again() -> None:
    isolate = Isolate(10)
    limits = RunLimits(timeout_ms=200, heap_mb=10)
    try:
        result = run_script(isolate, "while (true) {}", build_context(REQUEST, {}), limits)
        assert result.reason is FailureReason.TIMEOUT
        # Wait for the cancelled evaluation's late result to be queued: a
        # reused isolate would hand it to the next evaluation.
        wait_until(lambda: not isolate._results.empty(), timeout_s=5, what="the late result")
        # Otherwise each evaluation would answer with the one before's result.
        for code in ("1 + 1", "2 + 2"):
            with pytest.raises(_Interrupted):
                isolate.eval(code, time.monotonic() + 1)
    finally:
        isolate.close()
