"""Records what every public name of ``workers.store.keys`` gives for sample
arguments, as the table ``test_key_names.py`` holds the package to.

Key names are stored data: an upgrade must find the keys the old release
wrote, so a row once recorded is never rewritten. A new key gets its rows
with ``python -m tests.workers.key_names_capture --add`` (adds missing names
only; existing rows are left as they are).
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

TABLE = Path(__file__).with_name("data") / "key_names.json"

# Two sample sets per parameter name: a plain one, and one with the
# separators, non-ASCII text and a lone surrogate (hashed keys encode with
# surrogateescape) that a careless rewrite would treat differently.
SAMPLES: dict[str, tuple[Any, Any]] = {
    "hook_id": ("orders", "h:ü/1"),
    "job_id": ("0190c0de-aaaa-7bbb-8ccc-000000000001", ""),
    "key": ("customer-42", "k:é\udcff/ \u4e2d"),
    "key_id": ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "x:y"),
    "version": (3, 12),
    "queue": ("scripts", "callbacks"),
    "client": ("127.0.0.1", "::1"),
    "digest": ("ab" * 32, "0"),
    "name": ("celery@node-1", "w:2"),
    "minute": (29000000, 0),
    "scope": ("orders", "*"),
    "step_minutes": (5, 60),
    "first_minute": (29000000, 29000060),
    "token_id": ("tok1", "a:b"),
    "project_id": ("default", "p:ü"),
    "dest": ("https://example.com:443", "http://127.0.0.1:8080"),
}


def _json_value(value: Any) -> Any:
    """Strings as they are; a tuple as a list (JSON has no tuple)."""
    if isinstance(value, tuple):
        return {"tuple": [_json_value(v) for v in value]}
    return value


def public_names(module: ModuleType) -> dict[str, Any]:
    """The module's public key functions and string constants."""
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    found = {}
    for name in names:
        value = getattr(module, name)
        if inspect.ismodule(value) or name == "annotations":
            continue
        if callable(value) or isinstance(value, str):
            found[name] = value
    return found


def rows_for(name: str, value: Any) -> list[dict[str, Any]]:
    """What ``value`` gives for each sample set (a constant: itself)."""
    if not callable(value):
        return [{"args": None, "out": _json_value(value)}]
    fn: Callable[..., Any] = value
    params = list(inspect.signature(fn).parameters)
    rows = []
    for i in range(2):
        args = [SAMPLES[p][i] for p in params]
        rows.append({"args": args, "out": _json_value(fn(*args))})
        if not params:
            break
    return rows


def load_table() -> dict[str, list[dict[str, Any]]]:
    return json.loads(TABLE.read_text(encoding="utf-8", errors="surrogateescape"))


def main(argv: list[str]) -> None:
    from workers.store import keys

    table = load_table() if TABLE.exists() else {}
    if table and "--add" not in argv:
        sys.exit(f"{TABLE} exists: rows are never rewritten; use --add for new names")
    for name, value in public_names(keys).items():
        table.setdefault(name, rows_for(name, value))
    TABLE.parent.mkdir(exist_ok=True)
    text = json.dumps(table, indent=1, sort_keys=True, ensure_ascii=True) + "\n"
    TABLE.write_text(text, encoding="utf-8")
    print(f"{len(table)} names in {TABLE}")


if __name__ == "__main__":
    main(sys.argv[1:])
