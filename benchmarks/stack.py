"""The benchmarks' stack: redis-server, one worker node with 2 children and
gunicorn with 2 workers, all real processes (``stackkit``)."""

from __future__ import annotations

from pathlib import Path

from stackkit import Api, RedisServer, Web, Worker, hooklet_env

__all__ = ["Stack"]


class Stack:
    """redis-server + one worker node (2 children) + gunicorn, all real;
    ``settings`` are hooklet settings by name (``stats_enabled="false"``)."""

    def __init__(
        self, workdir: Path, extra_env: dict[str, str] | None = None, **settings: str | int
    ) -> None:
        self.redis = RedisServer(workdir)
        env = {**hooklet_env(self.redis.url, **settings), **(extra_env or {})}
        self.worker = Worker(env, workdir, concurrency=2)
        self.web = Web({**env, "HOOKLET_WEB_WORKERS": "2"}, workdir)
        try:  # what started is stopped if the rest fails to start
            self.redis.start()
            self.worker.start()
            self.web.start()
        except BaseException:
            self.close()
            raise
        self.api = Api(self.web.url)

    def close(self) -> None:
        self.web.stop()
        self.worker.stop()
        self.redis.stop()
