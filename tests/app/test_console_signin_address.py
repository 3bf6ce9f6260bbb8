"""Issue 20 item 10: the console's sign-in throttle counts attempts under an
address the client cannot choose. Behind ``HOOKLET_TRUSTED_PROXIES=1`` a
guesser that sends a new ``X-Real-IP`` (or new leftmost ``X-Forwarded-For``
entries, or a new IPv6 address in its /64) with every wrong token is still
refused (429) past the limit; ``X-Real-IP`` counts only when the operator
says the proxy sets it (``HOOKLET_CONSOLE_TRUST_REAL_IP``).
Parallel guesses: tests/console/test_signin_race.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest
import redis
from flask.testing import FlaskClient

from app.console import create_console_app
from workers.settings import Settings
from workers.store import keys

LIMIT = 3
PROXY_SAW = "198.51.100.7"  # what the trusted proxy appended to X-Forwarded-For


@pytest.fixture
def make_console(fast_settings: Settings) -> Callable[..., FlaskClient]:
    store = redis.Redis.from_url(fast_settings.redis_url)
    for key in store.scan_iter(keys.signin_failures("*")):
        store.delete(key)

    def make(**overrides: object) -> FlaskClient:
        settings = replace(
            fast_settings,
            trusted_proxies=1,
            console_signin_attempts=LIMIT,
            console_signin_window_s=60,
            **overrides,
        )
        return create_console_app(settings).test_client()

    return make


def guess(client: FlaskClient, headers: dict[str, str], peer: str = "127.0.0.1") -> int:
    environ = {"REMOTE_ADDR": peer}
    form = client.get("/ui/sign-in", environ_base=environ).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = client.post(
        "/ui/sign-in",
        data={"csrf": csrf, "token": "wrong", "next": "/ui/hooks"},
        headers=headers,
        environ_base=environ,
    )
    return answer.status_code


def test_a_rotating_x_real_ip_is_still_throttled(make_console) -> None:  # noqa: ANN001
    console = make_console()
    seen = [
        guess(console, {"X-Real-IP": f"203.0.113.{i}", "X-Forwarded-For": PROXY_SAW})
        for i in range(1, 9)
    ]
    assert seen == [401] * LIMIT + [429] * (8 - LIMIT)
    # Straight to hooklet, past the proxy (no X-Forwarded-For): the peer counts.
    seen = [guess(console, {"X-Real-IP": f"203.0.113.{i}"}, peer="10.9.9.9") for i in range(6)]
    assert seen == [401] * LIMIT + [429] * (6 - LIMIT)


def test_entries_the_client_put_before_the_proxys_do_not_count(make_console) -> None:  # noqa: ANN001
    console = make_console()
    seen = [guess(console, {"X-Forwarded-For": f"192.0.2.{i}, {PROXY_SAW}"}) for i in range(6)]
    assert seen == [401] * LIMIT + [429] * (6 - LIMIT)


def test_an_ipv6_client_counts_by_its_64(make_console) -> None:  # noqa: ANN001
    console = make_console()
    seen = [guess(console, {"X-Forwarded-For": f"2001:db8:1:2::{i:x}"}) for i in range(1, 7)]
    assert seen == [401] * LIMIT + [429] * (6 - LIMIT)


def test_x_real_ip_counts_when_the_operator_says_the_proxy_sets_it(make_console) -> None:  # noqa: ANN001
    console = make_console(console_trust_real_ip=True)
    seen = [
        guess(console, {"X-Real-IP": f"203.0.113.{i}", "X-Forwarded-For": PROXY_SAW})
        for i in range(1, 7)
    ]
    assert seen == [401] * 6  # each its own address, as the proxy said
    same = [guess(console, {"X-Real-IP": "203.0.113.200"}) for _ in range(5)]
    assert same == [401] * LIMIT + [429] * (5 - LIMIT)
