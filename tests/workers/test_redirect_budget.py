# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""Every byte read or sent on every redirect hop counts against a run's
outbound budget, and the run stops at it (issue 20 item 11). Before, each
3xx body was read up to the per-response cap and counted nowhere, and a 307
sent the request body again on every hop, checked only before the first:
10 fetches x 19 redirects read ~1.6 GiB against a 32 MiB budget.

A local upstream on 127.0.0.1 redirects (307, keeping method and body)
through a long chain, each 3xx carrying a big body; it counts the hops it
served and the request body bytes it received."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from workers.delivery.outbound import Transfer, TransferLimitReached, send
from workers.sandbox.contract import build_context
from workers.sandbox.host_calls import HostCalls
from workers.sandbox.isolate import Isolate, RunLimits, run_script
from workers.settings import Settings
from workers.store.jobs.records import EventRequest

KIB = 1024
CHUNK = 64 * KIB  # exchange.py reads at most one chunk past a limit
LOCAL = ("127.0.0.1",)


class RedirectChain:
    """``/hop/<n>?size=<bytes>``: a 307 to ``/hop/<n-1>`` with a body of
    ``size`` bytes; ``/hop/0`` answers 200 with the same body."""

    def __init__(self) -> None:
        chain = self
        self.hops = 0
        self.received = 0
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                n = int(parts.path.rsplit("/", 1)[1])
                query = dict(q.split("=") for q in parts.query.split("&") if q)
                size = int(query.get("size", 0))
                with chain.lock:
                    chain.hops += 1
                    chain.received += len(body)
                self.send_response(307 if n > 0 else 200)
                if n > 0:
                    self.send_header("Location", f"/hop/{n - 1}?{parts.query}")
                chunked = query.get("chunked") == "1"  # no length declared
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(size))
                self.end_headers()
                try:
                    if not chunked:
                        self.wfile.write(b"r" * size)
                        return
                    for start in range(0, size, 16 * KIB):
                        piece = b"r" * min(16 * KIB, size - start)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass  # the client stopped reading: what it should do

            do_GET = do_POST = do_PUT = _any  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, hops: int, size: int, chunked: bool = False) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/hop/{hops}?size={size}&chunked={int(chunked)}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chain() -> Iterator[RedirectChain]:
    server = RedirectChain()
    yield server
    server.close()


def test_redirect_bodies_count_against_the_received_budget(chain: RedirectChain) -> None:
    transfer = Transfer(max_received=1024 * KIB)
    with pytest.raises(
        TransferLimitReached, match="Outbound response bytes limit reached: 1048576 bytes per run"
    ):
        send("GET", chain.url(19, 300 * KIB), timeout_s=10, max_response_bytes=10 * 1024 * KIB,
             allowlist=LOCAL, max_redirects=20, transfer=transfer)  # fmt: skip
    # 3 bodies of 300 KiB; the 4th declares more than is left and is not read.
    assert (chain.hops, transfer.received) == (4, 900 * KIB)


def test_undeclared_redirect_bodies_are_cut_at_the_budget(chain: RedirectChain) -> None:
    transfer = Transfer(max_received=1000 * KIB)
    with pytest.raises(TransferLimitReached, match="Outbound response bytes limit reached"):
        send("GET", chain.url(19, 300 * KIB, chunked=True), timeout_s=10,
             max_response_bytes=10 * 1024 * KIB, allowlist=LOCAL, max_redirects=20,
             transfer=transfer)  # fmt: skip
    assert chain.hops == 4
    # Cut one read chunk past what the budget left after three bodies and four heads.
    assert transfer.received_total <= 1000 * KIB + CHUNK
    assert 1000 * KIB - transfer.received_heads < transfer.received


def test_a_307_resends_its_body_only_within_the_sent_budget(chain: RedirectChain) -> None:
    transfer = Transfer(max_sent=100 * KIB)
    with pytest.raises(
        TransferLimitReached, match="Outbound request bytes limit reached: 102400 bytes per run"
    ):
        send("POST", chain.url(19, 0), body=b"b" * (40 * KIB), timeout_s=10,
             max_response_bytes=KIB, allowlist=LOCAL, max_redirects=20, transfer=transfer)  # fmt: skip
    assert (chain.hops, chain.received, transfer.sent) == (2, 80 * KIB, 80 * KIB)


def test_without_a_budget_the_per_response_cap_still_applies(chain: RedirectChain) -> None:
    transfer = Transfer()
    response = send("PUT", chain.url(3, 10 * KIB), body=b"x", timeout_s=10,
                    max_response_bytes=10 * KIB, allowlist=LOCAL, max_redirects=5,
                    transfer=transfer)  # fmt: skip
    assert (response.status, response.redirects, len(response.body)) == (200, 3, 10 * KIB)
    assert (response.bytes_in, response.bytes_out) == (40 * KIB, 4)
    assert (transfer.received, transfer.sent) == (40 * KIB, 4)
    assert 0 < transfer.received_heads < 4 * KIB and 0 < transfer.sent_heads < 4 * KIB


def test_a_script_fetching_redirect_chains_stops_at_its_budget(chain: RedirectChain) -> None:
    """The issue's probe, scaled down: 10 fetches through 19 redirects with
    big 3xx bodies, and 10 POSTs whose 307s re-send the body."""
    settings = Settings(
        egress_allowlist=LOCAL,
        script_max_received_bytes=2 * 1024 * KIB,
        script_max_response_bytes=1024 * KIB,
        script_max_request_bytes=256 * KIB,
    )
    host = HostCalls(settings, None, "h")
    source = f"""(async () => {{
        const out = [];
        for (let i = 0; i < 10; i++) {{
            try {{ await fetch({json.dumps(chain.url(19, 0))}, {{ method: 'POST', body: 'p'.repeat(50 * 1024) }}); out.push('ok'); }}
            catch (e) {{ out.push(e.message); }}
        }}
        for (let i = 0; i < 10; i++) {{
            try {{ await fetch({json.dumps(chain.url(19, 512 * KIB))}); out.push('ok'); }}
            catch (e) {{ out.push(e.message); }}
        }}
        return {{ body: out }};
    }})()"""
    isolate = Isolate(64)
    try:
        event = EventRequest("GET", "/", None, {}, {}, "127.0.0.1:1", b"")
        result = run_script(isolate, source, build_context(event, {}), RunLimits(20_000, 64), host)
    finally:
        isolate.close()
    assert result.ok, result.error
    out = json.loads(result.body)
    limit_in = "Outbound response bytes limit reached: 2097152 bytes per run."
    limit_out = "Outbound request bytes limit reached: 262144 bytes per run."
    assert out == [limit_out] * 10 + [limit_in] * 10
    # Sent: 5 bodies of 50 KiB on 5 hops, the 6th refused before connecting.
    # Received: 3 bodies of 512 KiB; the 4th declares more than the budget
    # has left (heads count too) and is not read; nothing after it connects.
    assert host.transfer.sent == chain.received == 250 * KIB
    assert host.transfer.received == 3 * 512 * KIB
    assert host.transfer.received_total <= 2 * 1024 * KIB
    assert chain.hops == 5 + 4  # no fetch connects once the budget is spent
    records = host.records
    assert [r["outcome"] for r in records] == ["limit"] * 20
    assert sum(r.get("bytesIn", 0) for r in records) == host.transfer.received
