"""Write supervisord's configuration for ``scripts/run`` from the Procfile.

The Procfile stays the one list of hooklet's processes (compose.yaml and the
systemd units in config/systemd/ spell the same commands); this turns the
processes ``scripts/run`` asked for into supervisord programs:

- every program is restarted whenever it exits; one that dies again within
  ``START_S`` of starting waits 1 s, 2 s, 3 s, ... before the next try, and
  supervisord gives up (FATAL, logged) after ``START_RETRIES`` such tries;
- starts, exits and restarts are logged by supervisord on the terminal and in
  ``<data>/logs/supervisord.log``; each program's output goes to
  ``<data>/logs/<name>.log`` (rotated);
- Redis starts first and stops last; on Ctrl-C each program gets SIGTERM (a
  warm shutdown for Celery, a graceful one for gunicorn), and whatever is left
  of its process group after ``STOP_WAIT_S`` is killed, pool children included;
- ``supervisorctl -c <data>/supervisord.conf status|restart <name>`` talks to
  it over a socket in the data folder (mode 0700, and a password written
  into the config, itself mode 0600).

Each command runs as ``/bin/sh -c 'exec <Procfile line>'``: the shell expands
the Procfile's ``${VAR:-default}`` from the environment ``scripts/run`` set,
then becomes the program, so supervisord watches the program itself.

Usage: ``python scripts/supervisor_conf.py PROCFILE DATA_DIR NAME...`` writes
``DATA_DIR/supervisord.conf`` and prints its path.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from pathlib import Path

__all__ = ["read_procfile", "render"]

START_S = 20  # a program that exits sooner did not start: back off before the next try
START_RETRIES = 20  # tries 1 s, 2 s, ... 20 s apart (3.5 min) before giving up
STOP_WAIT_S = 10  # SIGTERM, then SIGKILL to the program's whole process group
FIRST = {"redis": 10}  # priority: lower starts first and stops last
DEFAULT_PRIORITY = 50


def read_procfile(path: Path) -> dict[str, str]:
    """``name: command`` lines, in order (blank lines and ``#`` comments skipped)."""
    processes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, command = line.split(":", 1)
        processes[name.strip()] = command.strip()
    return processes


def _escape(value: str) -> str:
    """supervisord expands ``%(name)s`` in values: a literal ``%`` is ``%%``."""
    return value.replace("%", "%%")


def _program(name: str, command: str, root: Path, logs: Path) -> str:
    shell = "/bin/sh -c " + shlex.quote("exec " + command)
    return f"""
[program:{name}]
command={_escape(shell)}
directory={_escape(str(root))}
priority={FIRST.get(name, DEFAULT_PRIORITY)}
autostart=true
autorestart=true
startsecs={START_S}
startretries={START_RETRIES}
stopsignal=TERM
stopwaitsecs={STOP_WAIT_S}
stopasgroup=false
killasgroup=true
redirect_stderr=true
stdout_logfile={_escape(str(logs / f"{name}.log"))}
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=3
"""


def render(procfile: Path, data_dir: Path, names: list[str], password: str = "") -> str:
    """supervisord's configuration running ``names`` from ``procfile``."""
    processes = read_procfile(procfile)
    missing = [name for name in names if name not in processes]
    if missing:
        raise SystemExit(f"not in {procfile}: {', '.join(missing)}")
    root, logs = procfile.resolve().parent, data_dir / "logs"
    data = _escape(str(data_dir))
    password = _escape(password or secrets.token_urlsafe(18))
    head = f"""; Written by scripts/run from the Procfile at each start: edit those instead.
[supervisord]
nodaemon=true
logfile={data}/logs/supervisord.log
logfile_maxbytes=5MB
logfile_backups=2
loglevel=info
pidfile={data}/supervisord.pid
childlogdir={data}/logs

[unix_http_server]
file={data}/supervisor.sock
chmod=0700
username=hooklet
password={password}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{data}/supervisor.sock
username=hooklet
password={password}
"""
    return head + "".join(_program(n, processes[n], root, logs) for n in names)


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        raise SystemExit(__doc__)
    procfile, data_dir, names = Path(argv[0]), Path(argv[1]).resolve(), argv[2:]
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    conf = data_dir / "supervisord.conf"
    conf.unlink(missing_ok=True)
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(render(procfile, data_dir, names))
    print(conf)


if __name__ == "__main__":
    main(sys.argv[1:])
