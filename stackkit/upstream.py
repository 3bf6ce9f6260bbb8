"""A local upstream for scripts' fetch/op_proxy_request tests (127.0.0.1 only).

Paths: ``/data`` JSON; ``/echo`` the request back as JSON; ``/slow`` waits
2 s (``/slow?s=0.5``: that long); ``/redirect?to=URL`` a 302; ``/gzip`` a
gzip body; ``/bomb`` 20 MiB; ``/status/<n>``; anything else 200 ``upstream-response`` + ``x-test``.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _any(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts.path == "/data":
            self._reply(200, b'{"original":true}', {"content-type": "application/json"})
        elif parts.path == "/echo":
            echo = {"method": self.command, "path": self.path, "body": body.decode("latin-1"),
                    "headers": {k.lower(): v for k, v in self.headers.items()}}  # fmt: skip
            self._reply(200, json.dumps(echo).encode(), {"content-type": "application/json"})
        elif parts.path == "/slow":
            time.sleep(float(parse_qs(parts.query).get("s", ["2"])[0]))
            self._reply(200, b"slow")
        elif parts.path == "/redirect":
            self._reply(302, b"", {"location": parse_qs(parts.query)["to"][0]})
        elif parts.path == "/gzip":
            self._reply(200, gzip.compress(b"unzipped"), {"content-encoding": "gzip"})
        elif parts.path == "/bomb":
            self._reply(200, b"x" * (20 * 1024 * 1024))
        elif parts.path.startswith("/status/"):
            self._reply(int(parts.path.rsplit("/", 1)[1]), b"status body")
        else:
            self._reply(200, b"upstream-response", {"x-test": "test-value"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any  # noqa: N815


class Upstream:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.hits = 0  # type: ignore[attr-defined]
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def hits(self) -> int:
        return self.server.hits  # type: ignore[attr-defined]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
