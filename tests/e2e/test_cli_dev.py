"""``hooklet dev FILE --hook ID`` on the real stack (gunicorn, Celery, Redis,
V8), driven as a user drives it: by saving the watched file. A syntax error
is shown at its line and column and saves nothing; a changed answer is
saved as the draft and shown as ``differs`` with its diff and the draft's
log lines; Ctrl-C ends it with code 0; ``hooklet draft promote`` and
``hooklet draft rollback`` then switch what live events run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.support.stack import ADMIN_TOKEN, BIN, Api, wait_until

pytestmark = pytest.mark.stack
HOOKLET = str(BIN / "hooklet")
LIVE = """(async () => {
  const input = JSON.parse(Deno.core.decode(new Uint8Array(context.body)));
  return { statusCode: 200, body: { n: input.n, doubled: input.n * 2 } };
})()"""
BROKEN = """(async () => {
  return { statusCode: 200 + };
})()"""
CHANGED = """(async () => {
  const input = JSON.parse(Deno.core.decode(new Uint8Array(context.body)));
  console.log("draft saw", input.n);
  return { statusCode: 200, body: { n: input.n, doubled: input.n * 3 } };
})()"""


def _env(api: Api) -> dict[str, str]:
    env = {**os.environ, "HOOKLET_URL": api.base, "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN}
    env.pop("HOOKLET_TOKEN", None)
    return env


def _draft(api: Api, hook_id: str) -> dict:
    response = api.http.get(f"{api.base}/api/hooks/{hook_id}/draft", headers=api.admin, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _answer(api: Api, hook_id: str) -> dict:
    job = api.run(hook_id, json={"n": 5})
    assert job["status"] == "succeeded", job
    return json.loads(job["result"]["body"])


def _save(path: Path, text: str) -> None:
    """Save as many editors do: a new file renamed over the old one."""
    fresh = path.with_suffix(".swp")
    fresh.write_text(text)
    os.replace(fresh, path)


class Watching:
    """``hooklet dev`` running, its output read as it comes."""

    def __init__(self, api: Api, *args: str) -> None:
        self.proc = subprocess.Popen(
            [HOOKLET, "dev", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=_env(api),
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, after: int = 0) -> int:
        """The index of the first line from ``after`` on that holds ``text``."""

        def found() -> tuple[int] | None:
            for i, line in enumerate(self.lines[after:], after):
                if text in line:
                    return (i,)  # a tuple: line 0 is found too
            assert self.proc.poll() is None, "\n".join(self.lines)
            return None

        return wait_until(found, timeout_s=90, what=f"{text!r} in dev's output")[0]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        return code


@pytest.fixture
def recorded(api: Api, hook_id: str) -> list[str]:
    api.put_hook(hook_id, script=LIVE)
    jobs = [api.run(hook_id, json={"n": n}) for n in (1, 2, 3)]
    assert all(job["status"] == "succeeded" for job in jobs), jobs
    return [job["jobId"] for job in jobs]


def test_dev_checks_saves_tries_and_shows_each_save(
    api: Api, hook_id: str, recorded: list[str], tmp_path: Path
) -> None:
    script = tmp_path / "hook.js"
    script.write_text(LIVE)
    dev = Watching(api, str(script), "--hook", hook_id)
    try:
        # The file as it is, at start: the live script gives back every answer.
        first = dev.wait_for("3 events: 3 same, 0 differs, 0 diverged, 0 failed")
        assert _draft(api, hook_id)["script"] == LIVE

        _save(script, BROKEN)
        at = dev.wait_for(f"{script}:2:30: SyntaxError: Unexpected token '}}'", first)
        assert dev.lines[at + 1 : at + 4] == [
            "    return { statusCode: 200 + };",
            "  " + " " * 29 + "^",
            "nothing saved: fix it and save again",
        ]
        assert _draft(api, hook_id)["script"] == LIVE  # nothing saved

        _save(script, CHANGED)
        done = dev.wait_for("3 events: 0 same, 3 differs, 0 diverged, 0 failed", at)
        shown = dev.lines[at:done]
        rows = [line for line in shown if line.split()[:1] and line.split()[0] in recorded]
        assert len(rows) == 3 and all(r.split()[1:3] == ["differs", "body"] for r in rows), shown
        assert all(r.split()[3] == "$.doubled" for r in rows), shown
        for job_id, (before, after) in zip(recorded, [(2, 3), (4, 6), (6, 9)], strict=True):
            block = shown.index(f"differs  {job_id}")
            assert shown[block + 1] == f"  body $.doubled: {before} → {after}", shown
        for job_id, n in zip(recorded, (1, 2, 3), strict=True):
            assert f"  {job_id[:8]} [log] draft saw {n}" in shown, shown
        assert _draft(api, hook_id)["script"] == CHANGED  # saved as the draft
        assert _answer(api, hook_id) == {"n": 5, "doubled": 10}  # live: still the old one
    finally:
        code = dev.stop()
    assert code == 0, "\n".join(dev.lines)
    assert dev.lines[-1].startswith(f"stopped; the draft of {hook_id} stays saved"), dev.lines

    promoted = subprocess.run([HOOKLET, "draft", "promote", hook_id], capture_output=True,
                              text=True, env=_env(api), timeout=60)  # fmt: skip
    assert promoted.returncode == 0 and "is now version 2" in promoted.stdout, promoted.stderr
    assert _answer(api, hook_id) == {"n": 5, "doubled": 15}
    rolled = subprocess.run([HOOKLET, "draft", "rollback", hook_id], capture_output=True,
                            text=True, env=_env(api), timeout=60)  # fmt: skip
    assert rolled.returncode == 0 and "(version 1 brought back)" in rolled.stdout, rolled.stderr
    assert _answer(api, hook_id) == {"n": 5, "doubled": 10}


def test_dev_once_reports_one_round_and_exits(
    api: Api, hook_id: str, recorded: list[str], tmp_path: Path
) -> None:
    script = tmp_path / "hook.js"
    script.write_text(BROKEN)
    run = [HOOKLET, "dev", str(script), "--hook", hook_id, "--once"]
    broken = subprocess.run(run, capture_output=True, text=True, env=_env(api), timeout=120)
    assert broken.returncode == 1 and f"{script}:2:30: SyntaxError" in broken.stdout

    script.write_text(CHANGED)
    as_json = [HOOKLET, "--json", *run[1:], "--limit", "2"]
    tried = subprocess.run(as_json, capture_output=True, text=True, env=_env(api), timeout=120)
    assert tried.returncode == 0, tried.stderr
    [line] = tried.stdout.splitlines()  # one JSON line a round; progress on stderr
    out = json.loads(line)
    assert out["saved"] is True and out["counts"] == {"differs": 2}
    assert [job["jobId"] for job in out["jobs"]] == recorded[:0:-1]  # the latest two
    assert out["jobs"][0]["logs"] == [{"level": "log", "message": "draft saw 3"}]

    missing = subprocess.run([HOOKLET, "dev", str(script), "--hook", "no-such-hook", "--once"],
                             capture_output=True, text=True, env=_env(api), timeout=60)  # fmt: skip
    assert missing.returncode == 1 and "hook_not_found" in missing.stderr
