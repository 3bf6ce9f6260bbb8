"""Routes: a hook served on its own host name and path, as a secutils
responder is (``route: {host, path, pathType}``), besides ``/h/<hook>``.

Any request that no other view takes comes here. The most specific route
wins: the longest path, then exact (``=``) over prefix (``^``), then a route
naming the host over one for any host. A prefix matches by plain string
prefix, as secutils' does. The script's ``context.path`` is the whole path.
The table is every hook's route, read again at most every two seconds.
"""

from __future__ import annotations

import threading
import time

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound

from app import services
from app.intake import serve_hook
from app.request_context import raw_target, strip_slash
from workers.hook_validation import HTTP_METHODS
from workers.store.hooks import HookStore

__all__ = ["bp", "RouteTable"]

bp = Blueprint("routes", __name__)
_REFRESH_S = 2.0

Route = tuple[str, str, str, str]  # host ('' any), path, pathType, hook id


class RouteTable:
    def __init__(self, store: HookStore) -> None:
        self._store = store
        self._routes: list[Route] = []
        self._read_at = 0.0
        self._lock = threading.Lock()

    def _current(self) -> list[Route]:
        with self._lock:
            if time.monotonic() - self._read_at > _REFRESH_S:
                self._routes = [
                    (h.route["host"], h.route["path"], h.route["pathType"], h.id)
                    for h in self._store.list()
                    if h.route and h.enabled
                ]
                self._read_at = time.monotonic()
            return self._routes

    def match(self, host: str, path: str) -> str | None:
        """The hook id whose route serves ``host`` and ``path``, if any."""
        host, path = host.lower().rsplit(":", 1)[0] if ":" in host else host.lower(), path.lower()
        best: tuple[int, int, int, str] | None = None
        for r_host, r_path, r_type, hook_id in self._current():
            if r_host and r_host != host:
                continue
            if path != r_path and not (r_type == "^" and path.startswith(r_path)):
                continue
            rank = (len(r_path), r_type == "=", bool(r_host), hook_id)
            if best is None or rank > best:
                best = rank
        return None if best is None else best[3]


def _table() -> RouteTable:
    dispatcher = services.dispatcher()
    table = getattr(dispatcher, "route_table", None)
    if table is None:
        table = dispatcher.route_table = RouteTable(dispatcher.hooks)
    return table


@bp.route("/", defaults={"path": ""}, methods=list(HTTP_METHODS))
@bp.route("/<path:path>", methods=list(HTTP_METHODS))
def routed(path: str) -> Response:
    raw_path, _ = raw_target(request.environ)
    hook_id = _table().match(request.host, strip_slash(raw_path))
    if hook_id is None:
        raise NotFound()  # the plain 404 of a path nothing serves
    return serve_hook(hook_id, "")
