"""A process that checks scripts' syntax for the web side, which never starts
V8 itself (its gevent workers and mini-racer's threads do not mix).

Protocol: one JSON object per line on stdin, ``{"source": ...}``; one per
line on stdout, ``{"error": message or null}``. Run as
``python -m workers.sandbox.syntax_server``; ``app/syntax_checker.py`` is
the client.
"""

from __future__ import annotations

import sys

import orjson

from workers.sandbox.syntax import check_syntax

__all__ = ["serve"]


def serve() -> None:
    for line in sys.stdin.buffer:
        try:
            source = orjson.loads(line)["source"]
            reply = {"error": check_syntax(source) if isinstance(source, str) else "not a string"}
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            reply = {"error": f"could not read the request: {exc}"}
        sys.stdout.buffer.write(orjson.dumps(reply) + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    serve()
