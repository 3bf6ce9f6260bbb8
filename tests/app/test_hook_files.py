"""Hooks declared as files: loading them, in the test process. (Loading at
gunicorn's start is in tests/e2e/test_hook_files.py.)"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import redis

from app import hook_files
from app.hook_files import load_hook_files
from workers.errors import InvalidHook
from workers.settings import Settings
from workers.store.hooks import HookStore


@pytest.fixture
def store(fast_settings: Settings) -> HookStore:
    return HookStore(redis.Redis.from_url(fast_settings.redis_url))


def write(directory: Path, name: str, content: object) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(json.dumps(content))


def test_files_hold_one_hook_or_a_list_and_reloading_changes_nothing(
    tmp_path: Path, store: HookStore, fast_settings: Settings, hook_id: str
) -> None:
    write(tmp_path, "one.json", {"id": hook_id, "mode": "sync", "script": "({ body: 'a' })"})
    write(tmp_path, "two.json", [{"id": hook_id + "-b"}, {"id": hook_id + "-c", "script": "1"}])
    loaded = load_hook_files(tmp_path, store, fast_settings)
    assert [(h.id, h.version) for h in loaded] == [
        (hook_id, 1),
        (hook_id + "-b", 1),
        (hook_id + "-c", 1),
    ]
    assert store.get(hook_id).script == "({ body: 'a' })" and store.get(hook_id).mode == "sync"
    # Loading an unchanged file leaves the version alone; a change bumps it.
    assert load_hook_files(tmp_path, store, fast_settings)[0].version == 1
    write(tmp_path, "one.json", {"id": hook_id, "mode": "sync", "script": "({ body: 'b' })"})
    assert load_hook_files(tmp_path, store, fast_settings)[0].version == 2


def test_a_file_without_an_id_names_the_hook_after_the_file(
    tmp_path: Path, store: HookStore, fast_settings: Settings, hook_id: str
) -> None:
    write(tmp_path, f"{hook_id}.json", {"script": "null"})
    [hook] = load_hook_files(tmp_path, store, fast_settings)
    assert hook.id == hook_id


def test_an_invalid_hook_file_names_the_field(
    tmp_path: Path, store: HookStore, fast_settings: Settings, hook_id: str
) -> None:
    write(tmp_path, "bad.json", {"id": hook_id, "script": "const = 1;"})
    with pytest.raises(InvalidHook) as raised:
        load_hook_files(tmp_path, store, fast_settings)
    assert raised.value.field == "script"
    with pytest.raises(LookupError):
        store.get(hook_id)


def test_the_loader_command_reports_an_invalid_file(
    tmp_path: Path,
    fast_settings: Settings,
    hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What gunicorn's start-up runs: ``python -m app.hook_files DIR``.
    monkeypatch.setenv("HOOKLET_REDIS_URL", fast_settings.redis_url)
    write(tmp_path, "bad.json", {"id": hook_id, "script": "const = 1;"})
    with caplog.at_level(logging.ERROR, logger="hooklet.hooks"):
        assert hook_files.main([str(tmp_path)]) == 1
    assert "invalid hook file" in caplog.text and "script" in caplog.text
    write(tmp_path, "bad.json", {"id": hook_id, "script": "null"})
    assert hook_files.main([str(tmp_path)]) == 0
