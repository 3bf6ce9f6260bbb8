"""A draft run on a job's tape: the spec it runs with, the tape it plays and
the verdict on its answer (same, differs, diverged, failed), shared by
draft try (through the workers as an inline run) and shadow runs (in the
shadow worker itself)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import redis

from workers.draft_runs.diff import answer_of, diff
from workers.sandbox.tape import decode
from workers.store.hook_definition import hook_from_record, record
from workers.store.hook_revisions import read_revision
from workers.store.hooks import Hook, HookStore
from workers.store.jobs.records import JobStatus, Outcome, unpacked

__all__ = ["has_tape", "tape_of", "replay_inline", "outcome_fields", "verdict", "version_of"]


def tape_of(raw: dict[bytes, bytes]) -> dict[str, Any]:
    """The job's tape; a run that read nothing from outside has none, and its
    clock (if a draft reads it) starts when it did."""
    stored = unpacked(raw, "tape")
    tape = decode(stored) if stored is not None else {"v": 1, "calls": []}
    tape.setdefault("origin", round(float(raw.get(b"startedAt") or 0) * 1000))
    return tape


def has_tape(raw: dict[bytes, bytes]) -> bool:
    """Whether the job stored a tape (a run that read nothing from outside,
    or one recorded before tapes existed, has none)."""
    return b"tape" in raw or b"tapeZ" in raw


def replay_inline(hook: Hook, version: int, tape: dict[str, Any]) -> dict[str, Any]:
    """The inline spec that runs ``hook``'s script on ``tape`` (``version``:
    the live one, which the worker checks the hook still has)."""
    return {"hookId": hook.id, "version": version, "script": hook.script,
            "limits": hook.limits.to_json(), "response": hook.response,
            "secrets": hook.secrets, "tape": tape}  # fmt: skip


def outcome_fields(outcome: Outcome) -> dict[bytes, bytes]:
    """A run's outcome as the job fields ``verdict`` reads, for a run that
    wrote no job (a shadow run)."""
    fields = outcome.fields(0.0, delivery=False)
    return {
        name.encode(): value if isinstance(value, bytes) else str(value).encode()
        for name, value in fields.items()
    }


def verdict(stored: dict[bytes, bytes], ran: dict[bytes, bytes] | None) -> dict[str, Any]:
    """How the run's answer (``ran``'s job fields) compares with the stored one."""
    if ran is None or not JobStatus(ran[b"status"].decode()).is_final:
        return {"result": "failed", "reason": "timeout", "error": "the try run did not finish"}
    replay = orjson.loads(ran[b"replay"]) if b"replay" in ran else {}
    if replay.get("diverged"):
        return {"result": "diverged", **replay["diverged"]}
    before, after = answer_of(stored), answer_of(ran)
    if after["status"] == JobStatus.FAILED and (before.get("reason"), before.get("error")) != (
        after.get("reason"),
        after.get("error"),
    ):
        return {"result": "failed", "reason": after.get("reason"), "error": after.get("error")}
    changes = diff(before, after)
    return {"result": "differs", "diff": changes} if changes else {"result": "same"}


def version_of(client: redis.Redis, live: Hook, version: int) -> Hook | None:
    """The hook as it was at ``version``, to run a job's own version on its
    tape: that version's script and settings (its static ``response``,
    limits: a job's answer merges the response of its day), with today's
    credentials (a revision keeps none). None when that version is gone."""
    if version == live.version:
        return live
    script = HookStore(client).script(live.id, version)
    if script is None:
        return None
    revision = read_revision(client, live.id, version)
    if revision is None:  # a version from before revisions were kept
        return replace(live, script=script)
    return replace(hook_from_record({**record(live), **revision}), script=script)
