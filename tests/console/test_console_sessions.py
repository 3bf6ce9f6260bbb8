"""Issue 20 item 8: console sessions live in Redis, so signing out, a new
admin token and the session's end close them on every console process: a
copy of the cookie kept from before (a replay) is refused afterwards.

The cookie used to be the whole session (signed, valid 12 h): after
sign-out, the old cookie still read and wrote through the console's API."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
import redis
import requests
from flask.testing import FlaskClient

from app.console import create_console_app
from app.console.cookie import CONSOLE_COOKIE
from tests.console.conftest import Console, sign_in
from tests.support.stack import ADMIN_TOKEN, RedisServer, hooklet_env
from workers.settings import Settings, load_settings
from workers.store import keys


@pytest.fixture
def make_console(fast_settings: Settings) -> Callable[..., FlaskClient]:
    def make(**overrides: object) -> FlaskClient:
        return create_console_app(replace(fast_settings, **overrides)).test_client()

    return make


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf(?:-token)?" (?:value|content)="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def _signed_in(client: FlaskClient) -> tuple[str, str]:
    """Sign ``client`` in; the session cookie's value and the CSRF token."""
    form = client.get("/ui/sign-in").text
    answer = client.post("/ui/sign-in", data={"csrf": _csrf(form), "token": ADMIN_TOKEN})
    assert answer.status_code == 302, answer.text
    page = client.get("/ui/hooks")
    assert page.status_code == 200
    return client.get_cookie(CONSOLE_COOKIE).value, _csrf(page.text)


def _refused(client: FlaskClient, cookie: str) -> bool:
    """Whether a fresh browser holding only ``cookie`` is refused everywhere."""
    client.set_cookie(CONSOLE_COOKIE, cookie)
    api = client.get("/api/hooks")
    page = client.get("/ui/hooks")
    change = client.put("/api/hooks/replayed", json={"script": "1"})
    return (
        api.status_code == 401
        and page.status_code == 302
        and "/ui/sign-in" in page.headers["Location"]
        and change.status_code in (401, 403)
    )


def test_a_cookie_kept_from_before_sign_out_is_refused(make_console) -> None:  # noqa: ANN001
    console = make_console()
    cookie, csrf = _signed_in(console)
    assert console.get("/api/hooks").status_code == 200
    assert console.post("/ui/sign-out", data={"csrf": csrf}).status_code == 302
    assert console.get("/api/hooks").status_code == 401
    assert _refused(make_console(), cookie)


def test_a_new_admin_token_ends_every_session(make_console) -> None:  # noqa: ANN001
    cookie, _ = _signed_in(make_console())
    assert not _refused(make_console(), cookie)  # still open with the same token
    assert _refused(make_console(admin_token="a-new-admin-token"), cookie)


def test_a_session_ends_when_its_time_is_up(make_console, fast_settings: Settings) -> None:  # noqa: ANN001
    store = redis.Redis.from_url(fast_settings.redis_url)
    for key in store.scan_iter(keys.console_session("*")):
        store.delete(key)
    cookie, _ = _signed_in(make_console())
    [key] = list(store.scan_iter(keys.console_session("*")))
    ttl = store.ttl(key)
    assert 0 < ttl <= fast_settings.console_session_hours * 3600
    # Opened a session's length ago (its record not yet expired by Redis).
    record = orjson.loads(store.get(key))
    record["at"] = time.time() - fast_settings.console_session_hours * 3600 - 1
    store.set(key, orjson.dumps(record), ex=ttl)
    assert _refused(make_console(), cookie)
    # And once Redis has let the record go.
    cookie, _ = _signed_in(make_console())
    for key in store.scan_iter(keys.console_session("*")):
        store.delete(key)
    assert _refused(make_console(), cookie)


@pytest.fixture
def two_consoles(env: dict[str, str], workdir: Path) -> Iterator[tuple[Console, Console]]:
    first, second = Console(env, workdir).start(), Console(env, workdir).start()
    yield first, second
    first.stop()
    second.stop()


@pytest.mark.stack
def test_sign_out_on_one_console_process_ends_the_session_on_another(
    two_consoles: tuple[Console, Console],
) -> None:
    first, second = two_consoles
    http, csrf = sign_in(first.loopback_url)
    kept = http.cookies.get(CONSOLE_COOKIE)
    # The same browser, behind a balancer that sent it to the other process.
    replay = {CONSOLE_COOKIE: kept}
    assert requests.get(f"{second.loopback_url}/api/hooks", cookies=replay, timeout=10).ok
    out = requests.post(
        f"{second.loopback_url}/ui/sign-out",
        cookies=replay,
        data={"csrf": csrf},
        allow_redirects=False,
        timeout=10,
    )
    assert out.status_code == 302
    for console in (first, second):
        base = console.loopback_url
        answer = requests.get(f"{base}/api/hooks", cookies=replay, timeout=10)
        assert answer.status_code == 401, (base, answer.text)
        page = requests.get(f"{base}/ui/hooks", cookies=replay, allow_redirects=False, timeout=10)
        assert page.status_code == 302 and "/ui/sign-in" in page.headers["Location"]


def test_a_session_whose_redis_goes_away_is_told_so(tmp_path: Path) -> None:
    """The console's API answers a signed-in browser 503 "Redis is
    unreachable" (its pages show the banner), not 401, when Redis goes."""
    server = RedisServer(tmp_path).start()
    try:
        console = create_console_app(load_settings(hooklet_env(server.url))).test_client()
        _signed_in(console)
        server.stop()
        answer = console.get("/api/hooks")
        assert answer.status_code == 503 and "Redis is unreachable" in answer.text
    finally:
        server.stop()
