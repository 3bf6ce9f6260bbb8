"""A wheel built from the repository runs hooklet (issue 20 item 14, issue 22
item 4): it used to ship no runtime JavaScript (``"workers.sandbox" =
["*.js"]`` matched nothing under ``js/``), so a worker installed from it
failed at import.

The wheel is built from a copy of the tree (``pip wheel``), installed into a
fresh virtualenv outside the repository whose dependencies come from the
project's virtualenv (a ``.pth`` line: no download), and a Celery worker and
gunicorn run from that install, from a folder outside the repository,
against a real redis-server, until one event succeeds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from tests.support.stack import ADMIN_TOKEN, ROOT, Api, free_port, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SHARE = Path("share/hooklet/config")


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=180, **kwargs
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _runtime_files(source: Path) -> set[str]:
    """Every file the programs may read besides their modules."""
    return {
        str(path.relative_to(source))
        for package in ("app", "workers")
        for path in (source / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the source copy it was built from)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("app", "workers", "config"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source)
    (wheel,) = (base / "dist").glob("hooklet-*.whl")
    return wheel, source


@pytest.fixture(scope="module")
def venv(built: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed; dependencies are the
    project virtualenv's, seen through a ``.pth`` line (whose own ``.pth``
    files, the editable install's finder among them, are not run)."""
    root = tmp_path_factory.mktemp("venv") / "hooklet"
    _run(sys.executable, "-m", "venv", "--without-pip", root)
    python = root / "bin/python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(purelib.stdout.strip()) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", built[0])
    return root


def test_the_wheel_holds_every_runtime_file(built: tuple[Path, Path]) -> None:
    wheel, source = built
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _runtime_files(source) - names
    assert not missing, f"left out of the wheel: {sorted(missing)}"
    assert "workers/sandbox/js/vendor/core-js-url-3.6.4.min.js" in names  # the old miss
    data = f"hooklet-{VERSION}.data/data/"
    for path in (source / "config").rglob("*"):
        if path.is_file():
            shipped = data + str(SHARE / path.relative_to(source / "config"))
            assert shipped in names, f"{path.relative_to(source)} is not in the wheel's data"


def test_the_installed_package_is_the_one_imported_and_knows_its_version(
    venv: Path, tmp_path: Path
) -> None:
    probe = "import app, workers, workers.sandbox.isolate; print(app.__file__, workers.__file__)"
    found = _run(venv / "bin/python", "-c", probe, cwd=tmp_path).stdout.split()
    assert all(Path(f).is_relative_to(venv) for f in found), found
    assert _run(venv / "bin/hooklet", "--version").stdout.strip() == f"hooklet, version {VERSION}"


class Processes:
    """Processes started from the install, stopped at the end."""

    def __init__(self, cwd: Path) -> None:
        self.cwd, self.started = cwd, []

    def start(self, name: str, *args: str | Path, env: dict[str, str]) -> Path:
        log = self.cwd / f"{name}.log"
        self.started.append(
            subprocess.Popen(
                [str(a) for a in args],
                cwd=self.cwd,
                env=env,
                stdout=log.open("ab"),
                stderr=subprocess.STDOUT,
            )
        )
        return log

    def stop(self) -> None:
        for proc in reversed(self.started):
            proc.terminate()
        for proc in self.started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    yield started
    started.stop()


def test_a_worker_and_the_web_from_the_install_run_an_event(
    venv: Path, processes: Processes, tmp_path: Path
) -> None:
    config = venv / SHARE
    redis_port, web_port = free_port(), free_port()
    redis_bin = shutil.which("redis-server")
    processes.start(
        "redis",
        redis_bin,
        config / "redis.conf",
        "--port",
        str(redis_port),
        "--dir",
        tmp_path,
        env=dict(os.environ),
    )
    client = redis.Redis(port=redis_port)
    wait_until(lambda: _pings(client), what="redis-server")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOOKLET_")},
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOOKLET_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOOKLET_BIND": f"127.0.0.1:{web_port}",
        "HOOKLET_WEB_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    worker_log = processes.start(
        "worker",
        venv / "bin/python",  # the dependencies' scripts live in the project venv
        "-m",
        "celery",
        "-A",
        "workers",
        "worker",
        "-Q",
        "scripts.sync,scripts",
        "-n",
        "wheel@%h",
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        env=env,
    )
    processes.start(
        "web",
        venv / "bin/python",
        "-m",
        "gunicorn",
        "-c",
        config / "gunicorn.conf.py",
        "app.wsgi:app",
        env=env,
    )
    wait_until(lambda: b" ready." in worker_log.read_bytes(), timeout_s=60, what="the worker")
    api = Api(f"http://127.0.0.1:{web_port}")
    wait_until(lambda: _answers(api.base + "/healthz"), timeout_s=60, what="gunicorn")

    # The runtime's JavaScript (Deno.core, the vendored URL polyfill) at work.
    api.put_hook(
        "from-wheel",
        mode="async",
        script="""(async () => {
          const url = new URL('https://example.com/a?b=' + context.query.n);
          const text = Deno.core.decode(new Uint8Array(context.body));
          return { body: { b: url.searchParams.get('b'), text } };
        })()""",
    )
    job = api.run("from-wheel", "?n=7", data=b"hi", timeout_s=60)
    assert job["status"] == "succeeded", json.dumps(job)
    assert json.loads(job["result"]["body"]) == {"b": "7", "text": "hi"}


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
