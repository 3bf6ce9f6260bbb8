"""Gunicorn settings for hooklet's web process (``gunicorn -c config/gunicorn.conf.py``)."""

import os

bind = os.environ.get("HOOKLET_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HOOKLET_WEB_WORKERS", "2"))
# Sync hooks block a thread while their job runs: threads keep waits cheap.
worker_class = "gthread"
threads = int(os.environ.get("HOOKLET_WEB_THREADS", "16"))
timeout = 90
# scripts/run sets 4: honcho kills whatever still runs 5 s after Ctrl-C.
graceful_timeout = int(os.environ.get("HOOKLET_GRACEFUL_TIMEOUT_S", "20"))
keepalive = 5
# The access log goes to stdout; HOOKLET_ACCESS_LOG names a file instead, or
# turns it off when empty. Lines: 127.0.0.1 "POST /h/echo HTTP/1.1" 202 73 1ms
accesslog = os.environ.get("HOOKLET_ACCESS_LOG", "-") or None
logger_class = "app.access_log.AccessLogger"


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn hook
    """Load the hooks declared under HOOKLET_HOOKS_DIR once, in a process of
    its own: validating scripts starts V8, which must not run in the master."""
    hooks_dir = os.environ.get("HOOKLET_HOOKS_DIR")
    if not hooks_dir:
        return
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "app.hook_files", hooks_dir], check=False, timeout=120
    )
    if done.returncode != 0:
        server.log.error("could not load hooks from %s (see above)", hooks_dir)


def pre_request(worker, req):  # noqa: ANN001, ANN201 - gunicorn hook
    """Keep the last of a repeated request header, as secutils' scripts see
    them (gunicorn would join them with commas in the WSGI environ)."""
    last = {name.upper(): i for i, (name, _) in enumerate(req.headers)}
    if len(last) != len(req.headers):
        req.headers = [h for i, h in enumerate(req.headers) if last[h[0].upper()] == i]
