"""Hooks declared as files: ``config/hooks/*.json``, loaded at start-up.

A file holds one hook object (with its ``id``) or a list of them. Loading the
same file again changes nothing (the version only moves when the hook does),
unless it carries secrets: those are never compared (``HookStore.put``).

``python -m app.hook_files DIR`` loads them in a process of its own: checking
a script's syntax starts V8, which must never happen in gunicorn's master (V8
does not survive a fork, and the workers would inherit a dead copy).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import orjson
import redis

from workers.errors import InvalidHook
from workers.hook_validation import validate_hook
from workers.settings import Settings, load_settings
from workers.store.connection import client_for
from workers.store.hooks import Hook, HookStore

__all__ = ["load_hook_files"]

log = logging.getLogger("hooklet.hooks")


def load_hook_files(directory: str | Path, store: HookStore, settings: Settings) -> list[Hook]:
    loaded = []
    for path in sorted(Path(directory).glob("*.json")):
        items = orjson.loads(path.read_bytes())
        for data in items if isinstance(items, list) else [items]:
            hook = validate_hook(str(data.get("id", path.stem)), data, settings)
            stored, _ = store.put(hook)
            loaded.append(stored)
            log.info("loaded hook %s (version %s) from %s", stored.id, stored.version, path)
    return loaded


def main(argv: list[str]) -> int:
    """Load the hook files under ``argv[0]``, waiting up to 30 s for Redis."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = load_settings()
    for attempt in range(30):
        try:
            hooks = load_hook_files(
                argv[0], HookStore(client_for(settings, retries="patient")), settings
            )
        except (OSError, redis.ConnectionError) as exc:
            if attempt == 29:
                log.error("could not reach Redis to load hooks: %s", exc)
                return 1
            time.sleep(1)
            continue
        except InvalidHook as exc:
            log.error("invalid hook file under %s: %s", argv[0], exc)
            return 1
        log.info("loaded %d hook(s) from %s", len(hooks), argv[0])
        return 0
    return 1


if __name__ == "__main__":
    code = main(sys.argv[1:])
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # The syntax check's V8 isolate can keep the interpreter from exiting
    # (seen as an occasional hang at exit); everything is written by now.
    os._exit(code)
