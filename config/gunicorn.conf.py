"""Gunicorn settings for hooklet's web process (``gunicorn -c config/gunicorn.conf.py``)."""

import os
import resource

bind = os.environ.get("HOOKLET_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HOOKLET_WEB_WORKERS", "2"))
# gevent: every request is a greenlet (the gevent worker monkey-patches before
# it loads the app, so redis-py's pure-Python sockets cooperate), and a sync
# hook's wait parks a greenlet on an event (app/sync_waiter.py), not a thread.
# Thousands of waits cost no thread, and the async intake keeps answering
# whatever sync hooks do. HOOKLET_WEB_WORKER_CLASS=gthread brings
# back the threaded worker (HOOKLET_WEB_THREADS threads, one per wait).
worker_class = os.environ.get("HOOKLET_WEB_WORKER_CLASS", "gevent")
worker_connections = int(os.environ.get("HOOKLET_WEB_CONNECTIONS", "4000"))
threads = int(os.environ.get("HOOKLET_WEB_THREADS", "16"))
timeout = 90
# scripts/run sets 4: supervisord kills whatever still runs 10 s after Ctrl-C.
graceful_timeout = int(os.environ.get("HOOKLET_GRACEFUL_TIMEOUT_S", "20"))
keepalive = 5
# The access log goes to stdout; HOOKLET_ACCESS_LOG names a file instead, or
# turns it off when empty. Lines: 127.0.0.1 "POST /h/echo HTTP/1.1" 202 73 1ms
accesslog = os.environ.get("HOOKLET_ACCESS_LOG", "-") or None
logger_class = "app.access_log.AccessLogger"


def _raise_open_files_limit() -> None:
    """Each open connection holds a descriptor (sync waits hold no Redis
    connection: app/sync_waiter.py): raise the soft limit towards the hard
    one, for this master and the workers it forks."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * worker_connections + 1024
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


_raise_open_files_limit()


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


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn hook
    """Traces (workers/tracing), if OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is
    set: started in each worker after the fork and after the gevent worker
    has patched, so the span exporter's thread is a greenlet of this worker."""
    from workers import tracing

    tracing.start("hooklet-web")


def worker_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn hook
    """Write the worker's last second of console stats (workers/store/stats/buffer.py)
    and its last spans (a second at most)."""
    from workers import tracing
    from workers.store.stats.buffer import flush_process_buffers

    flush_process_buffers()
    tracing.flush()
