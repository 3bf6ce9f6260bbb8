"""What only the real web server shows: a chunked body refused at the limit,
gunicorn's access log, and the same metrics from every gunicorn process."""

from __future__ import annotations

import contextlib
import re
import socket

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import Api, Web, wait_until

pytestmark = pytest.mark.stack


def test_chunked_body_over_the_limit_is_413(api: Api, hook_id: str) -> None:
    # No Content-Length: the server stops reading at the limit and answers 413
    # while the client is still sending, so read the answer off a raw socket.
    api.put_hook(hook_id, script="null")
    host, port = api.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST /h/{hook_id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
        with contextlib.suppress(OSError):
            for _ in range(20):  # 1.25 MiB
                sock.sendall(chunk)
            sock.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer


def test_the_access_log_has_one_line_per_request(web: Web, api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null")
    assert api.send(hook_id, "/a/b?x=1").status_code == 202
    assert api.send(hook_id + "-missing").status_code == 404

    def lines() -> list[str]:
        log = (web.workdir / f"web-{web.port}.log").read_text()
        return [line for line in log.splitlines() if f'"POST /h/{hook_id}' in line]

    wait_until(lambda: len(lines()) == 2, timeout_s=10, what="two access log lines")
    accepted, refused = lines()
    assert re.fullmatch(
        rf'127\.0\.0\.1 "POST /h/{hook_id}/a/b\?x=1 HTTP/1\.1" 202 \d+ \d+ms', accepted
    )
    assert re.fullmatch(
        rf'127\.0\.0\.1 "POST /h/{hook_id}-missing HTTP/1\.1" 404 \d+ \d+ms', refused
    )


def test_metrics_are_the_same_from_every_web_process(api: Api) -> None:
    # Two gunicorn workers answer in turn; both read the fleet's counters.
    def names() -> set[str]:
        text = requests.get(f"{api.base}/metrics", timeout=10).text
        return {s.name for family in text_string_to_metric_families(text) for s in family.samples}

    assert names() == names()
