"""A revoked token is refused by every web process of a real gunicorn
(``HOOKLET_WEB_WORKERS=2``) at its next request: each process reads the
token's record from Redis per request, nothing is cached. Which process
answered is read from the connection's owner (psutil), so both are seen."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
import requests

from tests.support.stack import ADMIN_TOKEN, Web
from workers.store import keys

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def two_process_web(env: dict[str, str], workdir: Path) -> Iterator[Web]:
    web = Web({**env, "HOOKLET_WEB_WORKERS": "2"}, workdir).start()
    yield web
    web.stop()
    # The refused requests counted as failed authentications of 127.0.0.1:
    # the session's other stack tests come from there too.
    redis.Redis.from_url(env["HOOKLET_REDIS_URL"]).delete(keys.api_auth_failures("127.0.0.1"))


def _owner(web: Web, local_port: int) -> int | None:
    for child in psutil.Process(web.proc.pid).children():
        for conn in child.net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == local_port:
                return child.pid
    return None


def _answers_by_process(web: Web, token: str) -> dict[int, set[int]]:
    """Statuses of ``GET /api/hooks`` with ``token``, per web process, over
    fresh connections until both processes have answered."""
    seen: dict[int, set[int]] = {}
    for _ in range(400):
        conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
        conn.request("GET", "/api/hooks", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        pid = _owner(web, conn.sock.getsockname()[1])
        conn.close()
        if pid is not None:
            seen.setdefault(pid, set()).add(response.status)
        if len(seen) == 2:
            return seen
    raise AssertionError(f"only {len(seen)} web process answered: {seen}")


def test_revocation_is_seen_by_both_web_processes(two_process_web: Web) -> None:
    web = two_process_web
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert len(psutil.Process(web.proc.pid).children()) == 2
    created = requests.post(
        f"{web.url}/api/tokens",
        json={"project": "default", "name": "soon-revoked", "scopes": ["hooks:read"]},
        headers=admin,
        timeout=10,
    ).json()
    before = _answers_by_process(web, created["token"])
    assert all(statuses == {200} for statuses in before.values()), before

    revoked = requests.delete(f"{web.url}/api/tokens/{created['id']}", headers=admin, timeout=10)
    assert revoked.status_code == 204

    after = _answers_by_process(web, created["token"])
    assert set(after) == set(before)
    assert all(statuses == {401} for statuses in after.values()), after
