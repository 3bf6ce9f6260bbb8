"""Every way of running hooklet restarts a process that dies (issue 20, item 12):
supervisord under ``scripts/run`` (its config generated from the Procfile),
a systemd unit per process in config/systemd/, and compose's restart
policies. The whole-stack proof is tests/e2e/test_run_supervision.py."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import yaml
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from tests.test_compose import load, load_ha

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "config/systemd"


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_the_supervisor_config_runs_each_procfile_line_and_restarts_it(tmp_path: Path) -> None:
    names = list(procfile())
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/supervisor_conf.py"), str(ROOT / "Procfile")]
        + [str(tmp_path), *names],
        capture_output=True,
        text=True,
        check=True,
    )
    conf = Path(done.stdout.strip())
    assert conf == tmp_path / "supervisord.conf" and conf.stat().st_mode & 0o077 == 0
    options = ServerOptions()  # supervisord's own parser and checks
    options.realize(args=["-c", str(conf)])
    programs = {p.name: p for g in options.process_group_configs for p in g.process_configs}
    assert set(programs) == set(names)
    for name, line in procfile().items():
        program = programs[name]
        # The Procfile's line, run by a shell that expands ${VAR:-default} and
        # then becomes the program (supervisord watches the program itself).
        assert shlex.split(program.command) == ["/bin/sh", "-c", f"exec {line}"], name
        assert program.autorestart is RestartUnconditionally, name
        assert program.startretries >= 10 and program.startsecs >= 10, name  # backoff
        assert program.killasgroup and not program.stopasgroup, name  # no orphans
        assert program.stdout_logfile == str(tmp_path / "logs" / f"{name}.log"), name
    assert programs["redis"].priority < min(p.priority for n, p in programs.items() if n != "redis")
    assert "%h" in programs["worker"].command  # Celery's node name, not a supervisor expansion


def _argv(command: str) -> list[str]:
    """The parts of a command both files must agree on: the program, its
    flags and fixed arguments (paths, ports and ${...} values may differ)."""
    words = shlex.split(command.replace("%%", "%"))
    kept = [Path(words[0]).name]
    for word in words[1:]:
        if word.startswith("-"):
            kept.append(word.split("=", 1)[0])
        elif "$" not in word and "/" not in word and not word.isdigit():
            kept.append(word)
    return kept


def _unit(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (UNITS / f"hooklet-{name}.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_a_systemd_unit_per_process_restarts_it_and_runs_the_procfile_command() -> None:
    target = (UNITS / "hooklet.target").read_text()
    for name, line in procfile().items():
        unit = _unit(name)
        assert unit["Restart"] == ["always"], name
        assert unit["StartLimitIntervalSec"] == ["0"], name  # never gives up
        assert unit["PartOf"] == ["hooklet.target"], name
        assert unit["KillMode"] == ["mixed"], name  # SIGTERM, then the whole cgroup
        assert unit["EnvironmentFile"] == ["/etc/hooklet/hooklet.env"], name
        (exec_start,) = unit["ExecStart"]
        assert _argv(exec_start) == _argv(line), name
        # A lone % is a systemd specifier (%h: the home directory).
        assert not re.search(r"(?<!%)%(?!%)", exec_start.replace("%%", "")), name
        assert f"hooklet-{name}.service" in target, name
        if name != "redis":
            assert "hooklet-redis.service" in unit["After"][0], name
    example = (UNITS / "hooklet.env.example").read_text()
    units = "".join(p.read_text() for p in sorted(UNITS.glob("*.service")))
    for variable in set(re.findall(r"\$\{(\w+)\}", units)):
        assert f"\n{variable}=" in example, variable  # every ${VAR} a unit expands


def test_every_compose_service_restarts() -> None:
    for compose in (load(), load_ha()):
        for name, service in compose["services"].items():
            assert service.get("restart") in ("always", "unless-stopped"), name
    # Written in each service of compose.yaml, not only inherited.
    raw = yaml.safe_load((ROOT / "compose.yaml").read_text().replace("<<: *", "ref: "))
    for name, service in raw["services"].items():
        assert "restart" in service, name


def test_honcho_is_gone_and_supervisor_is_a_dependency() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ]", dep, maxsplit=1)[0] for dep in deps}
    assert "supervisor" in names and "honcho" not in names
    assert "honcho" not in (ROOT / "scripts/run").read_text()


def test_supervisord_hands_the_otel_variables_to_each_program(tmp_path: Path) -> None:
    """scripts/run turns tracing on by exporting OTEL_EXPORTER_OTLP_ENDPOINT
    (issue 26): supervisord's programs inherit its environment, so a real
    supervisord started with it set hands it to the program it runs."""
    seen = tmp_path / "seen.txt"
    probe = (
        f"import os, time; open({str(seen)!r}, 'w').write("
        "os.environ.get('OTEL_EXPORTER_OTLP_ENDPOINT', '') + ' ' + "
        "os.environ.get('OTEL_SERVICE_NAME', '')); time.sleep(60)"
    )
    (tmp_path / "Procfile").write_text(f"probe: {sys.executable} -c {shlex.quote(probe)}\n")
    data = tmp_path / "data"
    conf = subprocess.run(
        [sys.executable, str(ROOT / "scripts/supervisor_conf.py"), str(tmp_path / "Procfile")]
        + [str(data), "probe"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_SERVICE_NAME": "hooklet-here",
    }
    supervisord = Path(sys.executable).parent / "supervisord"
    proc = subprocess.Popen(
        [str(supervisord), "-c", conf],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (seen.exists() and seen.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert seen.read_text() == "http://127.0.0.1:4318 hooklet-here"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
