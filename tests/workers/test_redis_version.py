"""Hooklet needs Redis 7: web and worker refuse an older server at start,
naming the version found and the one needed (issue 20, item 15).

No Redis 6 binary is installed here, so a small RESP server on loopback
answers ``INFO server`` as Redis 6.2 does; the real redis-server passes.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from app import create_app
from tests.support.stack import RedisServer, free_port, hooklet_env
from workers.queue.celery_app import _refuse_old_redis
from workers.settings import load_settings
from workers.store.redis_version import (
    RedisTooOld,
    check_version,
    require_redis,
    server_version,
)


class _Redis6(socketserver.StreamRequestHandler):
    """Answers RESP commands as a Redis 6.2.14 would, enough for INFO."""

    def handle(self) -> None:
        while line := self.rfile.readline():
            if not line.startswith(b"*"):
                return
            args = []
            for _ in range(int(line[1:])):
                size = int(self.rfile.readline()[1:])
                args.append(self.rfile.read(size + 2)[:-2])
            command = args[0].upper()
            if command == b"INFO":
                info = b"# Server\r\nredis_version:6.2.14\r\nredis_mode:standalone\r\n"
                self.wfile.write(b"$%d\r\n%s\r\n" % (len(info), info))
            elif command == b"PING":
                self.wfile.write(b"+PONG\r\n")
            elif command in (b"CLIENT", b"HELLO"):  # CLIENT SETINFO is new in 7.2
                self.wfile.write(b"-ERR unknown command\r\n")
            else:
                self.wfile.write(b"+OK\r\n")


@pytest.fixture(scope="module")
def redis6_url() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), _Redis6)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    server.shutdown()
    server.server_close()


def test_versions_older_than_7_are_refused_with_both_versions_named() -> None:
    with pytest.raises(RedisTooOld) as refused:
        check_version("6.2.14")
    assert "6.2.14" in str(refused.value) and "Redis 7.0 or newer" in str(refused.value)
    for ok in ("7.0.0", "7.0.15", "7.2.4", "7.4-rc1", "8.0.2", "10.0.0"):
        check_version(ok)


def test_the_real_server_passes(redis_server: RedisServer) -> None:
    settings = load_settings(hooklet_env(redis_server.url))
    found = require_redis(settings)
    assert found == server_version(redis_server.client())
    assert int(found.split(".")[0]) >= 7


def test_the_web_app_refuses_to_start_on_redis_6(redis6_url: str) -> None:
    with pytest.raises(RedisTooOld, match=r"runs Redis 6\.2\.14") as refused:
        create_app(load_settings(hooklet_env(redis6_url)))
    assert redis6_url in str(refused.value)


def test_a_worker_node_stops_when_ready_on_redis_6(redis6_url: str, caplog) -> None:
    """The handler make_celery connects to ``worker_ready`` ends the node:
    Celery's signal dispatch would swallow an exception, so it is SystemExit."""
    settings = load_settings(hooklet_env(redis6_url))
    sender = SimpleNamespace(app=SimpleNamespace(hooklet_settings=settings))
    with pytest.raises(SystemExit):
        _refuse_old_redis(sender)
    assert "hooklet needs Redis 7.0 or newer" in caplog.text and "6.2.14" in caplog.text


def test_an_unreachable_server_is_not_refused() -> None:
    """The web then answers 503 and Celery waits for the broker: neither may
    be refused at start because Redis starts later."""
    settings = load_settings(hooklet_env(f"redis://127.0.0.1:{free_port()}/0"))
    assert require_redis(settings) is None
    create_app(settings)
