"""``hooklet dev``'s watcher (app/cli/dev.py ``_watch``) on a real file: a
round at start, one for each save that changes the text (written in place
or renamed over the file, as many editors save), none for a save of the same
text, and a moment without the file is waited out."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from app.cli import dev
from tests.support.stack import wait_until


class _Done(Exception):
    pass


def test_each_changing_save_is_one_round(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rounds: list[str] = []
    looks = [0]
    real_signature = dev._signature

    def counted_signature(file: Path):  # noqa: ANN202
        looks[0] += 1
        return real_signature(file)

    def fake_round(client, file, hook_id, limit, source) -> None:  # noqa: ANN001
        rounds.append(source)
        if source == "done":
            raise _Done

    monkeypatch.setattr(dev, "POLL_S", 0.01)
    monkeypatch.setattr(dev, "_signature", counted_signature)
    monkeypatch.setattr(dev, "_guarded_round", fake_round)
    script = tmp_path / "hook.js"
    script.write_text("one")
    ended: list[BaseException] = []

    def watch() -> None:
        try:
            dev._watch(object(), script, "h", 20)  # type: ignore[arg-type]
        except _Done as exc:
            ended.append(exc)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    def settled(count: int) -> None:
        wait_until(lambda: len(rounds) == count, timeout_s=10, what=f"{count} rounds: {rounds}")

    def polled_twice() -> None:
        now = looks[0]
        wait_until(lambda: looks[0] >= now + 4, timeout_s=10, what="the watcher to look again")

    settled(1)  # the file as it is at start
    script.write_text("two, written in place")
    settled(2)
    fresh = tmp_path / "hook.js.tmp"
    fresh.write_text("three, renamed over")
    os.replace(fresh, script)
    settled(3)
    fresh.write_text("three, renamed over")  # the same text saved again
    os.replace(fresh, script)
    polled_twice()
    script.unlink()  # an editor between its delete and its rename
    polled_twice()
    script.write_text("done")
    watcher.join(timeout=10)
    assert ended and rounds == ["one", "two, written in place", "three, renamed over", "done"]
