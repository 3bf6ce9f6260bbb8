"""Every Redis key name hooklet builds stays what it was: the names are stored
data, and an upgraded process must find the keys the old one wrote. The table
(``data/key_names.json``) was captured from ``workers/store/keys.py`` before
it became a package; ``key_names_capture.py --add`` records a new key's rows."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from tests.workers.key_names_capture import _json_value, load_table, public_names
from workers.store import keys

TABLE = load_table()


@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_recorded_key_name_is_built_as_it_was(name: str) -> None:
    value = getattr(keys, name)
    for row in TABLE[name]:
        got = value if row["args"] is None else value(*row["args"])
        assert _json_value(got) == row["out"], (name, row["args"])


@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_recorded_name_imports_from_the_package(name: str) -> None:
    # ``from workers.store.keys import <name>`` as callers may write it.
    module = importlib.import_module("workers.store.keys")
    namespace: dict[str, object] = {}
    exec(f"from workers.store.keys import {name}", namespace)
    assert namespace[name] is getattr(module, name)


def test_every_public_key_has_recorded_rows() -> None:
    missing = sorted(set(public_names(keys)) - set(TABLE))
    assert not missing, (
        f"keys without recorded names: {missing}; "
        "run .venv/bin/python -m tests.workers.key_names_capture --add"
    )


def test_every_key_of_a_concept_module_is_in_the_package() -> None:
    # Callers write keys.<name>: a key defined in keys/<concept>.py but not
    # re-exported by keys/__init__.py would be out of their reach.
    left_out = []
    for info in pkgutil.iter_modules(keys.__path__):
        module = importlib.import_module(f"{keys.__name__}.{info.name}")
        for name, value in vars(module).items():
            own = inspect.isfunction(value) and value.__module__ == module.__name__
            if own and not name.startswith("_") and name not in keys.__all__:
                left_out.append(f"{info.name}.{name}")
    assert not left_out, f"not re-exported by workers/store/keys/__init__.py: {left_out}"


def test_the_ordering_lua_builds_the_same_names() -> None:
    # store/ordering/base.lua builds a key's records from ordering_prefix():
    # <prefix><hook>:<key id>, then ':jobs' and ':callbacks'.
    hook, key_id = "orders", keys.ordering_key_id("customer-42")
    base = keys.ordering_prefix() + hook + ":" + key_id
    assert keys.ordering(hook, key_id) == base
    assert keys.ordering_jobs(hook, key_id) == base + ":jobs"
    assert keys.ordering_callbacks(hook, key_id) == base + ":callbacks"
