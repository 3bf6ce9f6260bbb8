"""Console sign-in against a real redis-server (Flask's test client on the
console app): failed attempts are counted per client address, and past the
limit the form answers 429 with Retry-After, even for the right token, until
the window ends; a successful sign-in clears the count."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import redis
from flask.testing import FlaskClient

from app.console import create_console_app
from tests.support.stack import ADMIN_TOKEN
from workers.settings import Settings
from workers.store import keys


@pytest.fixture
def console(fast_settings: Settings) -> FlaskClient:
    settings = replace(fast_settings, console_signin_attempts=3, console_signin_window_s=60)
    redis.Redis.from_url(settings.redis_url).delete(
        keys.signin_failures("10.0.0.7"), keys.signin_failures("10.0.0.8")
    )
    return create_console_app(settings).test_client()


def attempt(client: FlaskClient, token: str, address: str):  # noqa: ANN201
    form = client.get("/ui/sign-in", environ_base={"REMOTE_ADDR": address}).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    return client.post(
        "/ui/sign-in",
        data={"csrf": csrf, "token": token, "next": "/ui/hooks"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_too_many_failed_sign_ins_are_refused_for_a_while(console: FlaskClient) -> None:
    for _ in range(3):
        assert attempt(console, "wrong", "10.0.0.7").status_code == 401
    locked = attempt(console, ADMIN_TOKEN, "10.0.0.7")  # even the right token
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins" in locked.text
    # Another address is not held back, and its success clears its count.
    assert attempt(console, "wrong", "10.0.0.8").status_code == 401
    assert attempt(console, ADMIN_TOKEN, "10.0.0.8").status_code == 302
    client = redis.Redis.from_url(console.application.config["HOOKLET"].redis_url)
    assert client.exists(keys.signin_failures("10.0.0.8")) == 0
    # The window ends: the locked address may try again.
    client.delete(keys.signin_failures("10.0.0.7"))
    assert attempt(console, ADMIN_TOKEN, "10.0.0.7").status_code == 302
