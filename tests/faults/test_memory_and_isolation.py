"""Memory V8 does not count, what a script can reach, what it can leave behind."""

from __future__ import annotations

import time

import pytest

from tests.faults.test_hostile_scripts import assert_next_job_succeeds
from tests.support.stack import Api, Worker

pytestmark = pytest.mark.stack

TYPED_ARRAY_BOMB = """
const kept = [];
while (true) { const chunk = new Uint8Array(32 * 1024 * 1024); chunk.fill(7); kept.push(chunk); }
"""
WASM_BOMB = """
const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
while (true) {
  memory.grow(512);
  const bytes = new Uint8Array(memory.buffer);
  bytes.fill(1, bytes.length - 512 * 65536);
}
"""


def child_rss_mb(worker: Worker) -> float:
    [child] = worker.children()
    return child.memory_info().rss / 2**20


@pytest.mark.parametrize("script", [TYPED_ARRAY_BOMB, WASM_BOMB], ids=["typed-array", "wasm"])
def test_memory_outside_the_heap_is_stopped_by_the_rss_cap(
    fault_api: Api, fault_worker: Worker, hook_id: str, script: str
) -> None:
    assert_next_job_succeeds(fault_api, hook_id)  # warm the child up first
    before = child_rss_mb(fault_worker)
    fault_api.put_hook(hook_id, script=script, limits={"timeoutMs": 20000, "heapMb": 10})
    job = fault_api.run(hook_id, timeout_s=30)
    assert (job["status"], job["reason"]) == ("failed", "memory"), job
    assert "memory reached" in job["error"] and "cap of 300 MB" in job["error"]
    assert job["durationMs"] < 5000  # stopped by the cap, long before the timeout
    assert fault_worker.proc.poll() is None
    assert_next_job_succeeds(fault_api, hook_id)
    assert child_rss_mb(fault_worker) < before + 50


@pytest.mark.parametrize(
    ("script", "text"),
    [
        ("require('fs')", "ReferenceError: require is not defined"),
        ("process.exit(1)", "ReferenceError: process is not defined"),
        ("(async () => { await import('fs'); })()", "Error: Not supported"),
        # Issue 15: fetch exists, and the egress guard refuses loopback (nothing connects).
        ("fetch('http://127.0.0.1/')", "Error: URL not allowed"),
        ("Deno.readTextFile('/etc/passwd')", "TypeError: Deno.readTextFile is not a function"),
        ("new XMLHttpRequest()", "ReferenceError: XMLHttpRequest is not defined"),
    ],
    ids=["require", "process", "import", "fetch", "Deno", "XMLHttpRequest"],
)
def test_reaching_for_the_host_is_an_ordinary_error(
    fault_api: Api, hook_id: str, script: str, text: str
) -> None:
    fault_api.put_hook(hook_id, script=script)
    job = fault_api.run(hook_id)
    assert (job["status"], job["reason"]) == ("failed", "error")
    assert job["error"].startswith(text)


def test_atomics_wait_is_ended_by_the_timeout(fault_api: Api, hook_id: str) -> None:
    script = "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)"
    fault_api.put_hook(hook_id, script=script, limits={"timeoutMs": 500})
    job = fault_api.run(hook_id)
    assert (job["status"], job["reason"]) == ("failed", "timeout")
    assert_next_job_succeeds(fault_api, hook_id)


@pytest.mark.parametrize(
    ("tamper", "own_next"),
    [
        (
            "JSON.parse = () => 'hijacked'; JSON.stringify = () => '\"hijacked\"';",
            '"hijacked"',
        ),
        (
            "Object.prototype.hijacked = 'yes'; Object.prototype.toString = () => 'hijacked';",
            '{"parsed":{"a":1},"own":"yes","str":"hijacked","mapped":[2]}',
        ),
        ("console.log = () => { throw new Error('hijacked'); }; globalThis.console = null;", None),
        ("Array.prototype.map = () => ['hijacked'];", None),
    ],
    ids=["JSON", "Object.prototype", "console", "Array.prototype"],
)
def test_tampering_with_builtins_is_seen_by_no_other_hook(
    fault_api: Api, hook_id: str, tamper: str, own_next: str | None
) -> None:
    """Issue 21 item 2: a script's changes persist into its own hook's next
    events on the same warm isolate (as on Cloudflare Workers), while its
    console, context and result stay the runtime's; no other hook sees them."""
    probe = """
      console.log("still here");
      ({ body: JSON.stringify({ parsed: JSON.parse('{"a":1}'), own: ({}).hijacked ?? null,
                                str: String({}), mapped: [1].map((x) => x + 1) }) })
    """
    clean = '{"parsed":{"a":1},"own":null,"str":"[object Object]","mapped":[2]}'
    # The same hook: its next event runs the probe branch in what was its
    # isolate (one worker child here), with the changes it made.
    script = f"if (context.query.tamper) {{ {tamper} }}\n{probe}"
    fault_api.put_hook(hook_id, script=script)
    fault_api.run(hook_id, params={"tamper": "1"})
    job = fault_api.run(hook_id)
    assert job["status"] == "succeeded", job
    if "Array.prototype.map" in tamper:
        own_next = clean.replace('"mapped":[2]', '"mapped":["hijacked"]')
    assert job["result"]["body"] == (own_next or clean), job
    assert job["logs"] == [{"level": "log", "message": "still here"}]
    # Another hook.
    fault_api.put_hook(hook_id + "-other", script=probe)
    other = fault_api.run(hook_id + "-other")
    assert other["result"]["body"] == clean and other["logs"] == job["logs"], other


def test_warm_isolates_keep_a_hooks_globals(fault_api: Api, hook_id: str) -> None:
    script = "globalThis.count = (globalThis.count ?? 0) + 1; ({ body: String(count) })"
    fault_api.put_hook(hook_id, script=script)
    bodies = [fault_api.run(hook_id)["result"]["body"] for _ in range(3)]
    assert bodies == ["1", "2", "3"]
    fault_api.put_hook(hook_id, script=script, isolation="fresh")
    assert [fault_api.run(hook_id)["result"]["body"] for _ in range(2)] == ["1", "1"]


def test_endless_console_is_capped(fault_api: Api, hook_id: str) -> None:
    fault_api.put_hook(hook_id, script="for (let i = 0; i < 1e6; i++) console.log('spam', i); null")
    job = fault_api.run(hook_id)
    assert job["status"] == "succeeded"
    assert len(job["logs"]) == 101
    assert job["logs"][-1]["message"].startswith("[hooklet] 999900 log line(s) dropped")


def test_oversized_result_body_fails_with_a_clear_reason(fault_api: Api, hook_id: str) -> None:
    fault_api.put_hook(
        hook_id, script="({ body: 'x'.repeat(2 * 1024 * 1024) })", limits={"heapMb": 64}
    )
    job = fault_api.run(hook_id)
    assert (job["status"], job["reason"]) == ("failed", "output")
    assert "over the limit of 1048576 bytes" in job["error"]


def test_hostile_scripts_do_not_leak_child_memory(
    fault_api: Api, fault_worker: Worker, hook_id: str
) -> None:
    # V8 and malloc keep some freed pages for reuse: after a few failures the
    # child's RSS levels off. A leak would keep climbing. The child closes a
    # killed isolate just after it records the job, so one sample can still
    # hold that isolate's heap: compare the lowest of several samples.
    fault_api.put_hook(
        hook_id, script="let a = []; while (true) a.push({ a: a.length });", limits={"heapMb": 32}
    )
    [child] = fault_worker.children()

    def lowest_rss_mb(runs: int) -> float:
        samples = []
        for _ in range(runs):
            assert fault_api.run(hook_id)["reason"] == "memory"
            time.sleep(0.05)
            samples.append(child.memory_info().rss / 2**20)
        return min(samples)

    lowest_rss_mb(5)
    levelled = lowest_rss_mb(5)
    assert lowest_rss_mb(15) < levelled + 10


def test_warm_isolates_never_push_a_child_into_its_memory_cap(
    fault_api: Api, fault_worker: Worker, hook_id: str
) -> None:
    # Each hook keeps 20 MB of typed array in its warm isolate: twenty of them
    # would pass the 300 MB cap if the cache held on to all of them.
    script = "globalThis.keep ??= new Uint8Array(20 << 20).fill(1); ({ body: 'ok' })"
    hooks = [f"{hook_id}-{n}" for n in range(20)]
    for hook in hooks:
        fault_api.put_hook(hook, script=script)
    assert_next_job_succeeds(fault_api, hook_id)
    [child] = fault_worker.children()
    for _ in range(2):
        for hook in hooks:
            job = fault_api.run(hook)
            assert job["status"] == "succeeded", job
    # The pool let go of isolates itself: the child was not recycled for memory.
    assert [c.pid for c in fault_worker.children()] == [child.pid]
    assert child.memory_info().rss < 300 * 2**20
