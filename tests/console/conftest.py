"""The console's own process and a real Chromium driven by Selenium.

The console is opened as ``http://localhost:<port>`` and hooks as
``http://127.0.0.1:<port>``: two host names, so the browser keeps their
cookies apart, as two host names would in production. Chromium resolves
nothing but those two (``--host-resolver-rules``): no traffic leaves loopback.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.support.stack import ADMIN_TOKEN, BIN, ROOT, _answers, _stop, free_port, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@dataclass
class Console:
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def loopback_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Console:
        log = open(self.workdir / f"console-{self.port}.log", "ab")  # noqa: SIM115
        env = {**self.env, "HOOKLET_CONSOLE_BIND": f"127.0.0.1:{self.port}"}
        self.proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                str(ROOT / "config/gunicorn.console.conf.py"),
                "app.console.wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: _answers(self.loopback_url + "/healthz"), timeout_s=30, what="console")
        return self

    def stop(self) -> None:
        _stop(self.proc)


def sign_in(base_url: str, token: str = ADMIN_TOKEN) -> tuple[requests.Session, str]:
    """A requests session signed in to the console, and its CSRF token."""
    http = requests.Session()
    page = http.get(f"{base_url}/ui/sign-in", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    answer = http.post(
        f"{base_url}/ui/sign-in",
        data={"token": token, "csrf": csrf},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    page = http.get(f"{base_url}/ui/hooks", timeout=10).text
    return http, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


@pytest.fixture(scope="session")
def console(env: dict[str, str], workdir: Path, worker) -> Iterator[Console]:  # noqa: ANN001
    server = Console(env, workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("console-screenshots")
    print(f"\nconsole screenshots: {path}")
    return path


def _chrome(profile: Path, width: int = 1280, height: int = 800):  # noqa: ANN202
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--password-store=basic",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, log_output=os.devnull)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_window_size(width, height)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    driver = _chrome(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()
