"""Issue 20 item 10: parallel wrong guesses beyond the sign-in limit are
refused. The throttle used to read the count, check the token, then count
the failure: guesses sent together all read the count before any was
counted, and all got to try a token. Now each attempt is counted before its
token is checked, in one atomic step, against a real console (gunicorn,
two processes with many threads) and a real redis-server."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from tests.console.conftest import Console
from workers.store import keys

pytestmark = pytest.mark.stack

LIMIT = 3
GUESSES = 48


@pytest.fixture
def racing_console(env: dict[str, str], workdir: Path) -> Iterator[Console]:
    overrides = {
        "HOOKLET_CONSOLE_SIGNIN_ATTEMPTS": str(LIMIT),
        "HOOKLET_CONSOLE_WORKERS": "2",
        "HOOKLET_CONSOLE_THREADS": str(GUESSES),
        "HOOKLET_TRUSTED_PROXIES": "1",  # each test run counts under its own address
    }
    console = Console({**env, **overrides}, workdir).start()
    yield console
    console.stop()


def _ready_guesser(url: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    form = http.get(f"{url}/ui/sign-in", timeout=10).text
    return http, re.search(r'name="csrf" value="([^"]+)"', form).group(1)


def test_parallel_wrong_guesses_past_the_limit_are_refused(
    racing_console: Console, env: dict[str, str]
) -> None:
    url = racing_console.loopback_url
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    store = redis.Redis.from_url(env["HOOKLET_REDIS_URL"])
    store.delete(keys.signin_failures(address))
    guessers = [_ready_guesser(url) for _ in range(GUESSES)]
    start = threading.Barrier(GUESSES)
    statuses: list[int | str] = []

    def guess(http: requests.Session, csrf: str) -> None:
        start.wait(30)
        try:
            answer = http.post(
                f"{url}/ui/sign-in",
                data={"csrf": csrf, "token": f"guess-{uuid.uuid4().hex}"},
                headers={"X-Forwarded-For": address},
                allow_redirects=False,
                timeout=30,
            )
            statuses.append(answer.status_code)
        except requests.RequestException as exc:
            statuses.append(type(exc).__name__)

    threads = [threading.Thread(target=guess, args=g) for g in guessers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        store.delete(keys.signin_failures(address))
    assert len(statuses) == GUESSES and set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= LIMIT, sorted(statuses)
    assert statuses.count(429) >= GUESSES - LIMIT
