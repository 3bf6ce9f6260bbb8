"""Replay (run a stored event again) and redeliver (send a finished job's
callback again), both only under the hook version that received the event:
a hook deleted and created again with the same id has another owner, other
secrets and another script, so an old job answers ``409 hook_version_gone``
(issue 20). The dispatcher's ``replay`` and ``redeliver`` call these."""

from __future__ import annotations

from typing import Any, Protocol

from workers import tracing
from workers.errors import HookChanged, HookNotFound, HookVersionGone, InvalidRequest, JobNotFound
from workers.queue.messages import callback_task
from workers.settings import Settings
from workers.store.deliveries import DeliveryStore
from workers.store.hooks import Hook, HookStore
from workers.store.jobs.records import EventRequest, JobStatus
from workers.store.jobs.store import JobStore


class Dispatcher(Protocol):
    """What of ``app.dispatcher.Dispatcher`` these use (no import: it calls them)."""

    settings: Settings
    jobs: JobStore
    hooks: HookStore
    deliveries: DeliveryStore

    def submit(self, hook: Hook, request: EventRequest, **options: Any) -> Any: ...


__all__ = ["replay", "redeliver", "hook_of"]

_ATTEMPTS = 3  # a hook changed between the read and the write: read it again


def hook_of(hooks: HookStore, job_id: str, raw: dict[bytes, bytes]) -> tuple[Hook, str]:
    """The hook that received the job, and its stored etag; never a hook
    created since under the same id."""
    hook_id, version = raw[b"hookId"].decode(), int(raw.get(b"version") or 0)
    try:
        return hooks.get_for_version_with_etag(hook_id, version)
    except HookNotFound:
        raise HookVersionGone(
            f"job {job_id!r} ran version {version} of hook {hook_id!r}, which was deleted"
        ) from None


def replay(dispatcher: Dispatcher, job_id: str) -> str:
    """Run a stored event again, as a new job linked to the original; the
    job is written only if the hook is still the one just checked."""
    raw = dispatcher.jobs.get(job_id)
    if raw is None or not raw.get(b"hookId"):
        raise JobNotFound(f"no replayable job {job_id!r}")
    request = EventRequest.from_job(raw)
    # A new trace, linked to the original event's (nothing while tracing is off).
    extra = {
        "replayOf": job_id,
        **tracing.replay_fields(raw.get(b"traceparent"), raw[b"hookId"].decode(), job_id),
    }
    for _ in range(_ATTEMPTS):
        hook, etag = hook_of(dispatcher.hooks, job_id, raw)
        try:
            return dispatcher.submit(hook, request, extra=extra, hook_etag=etag).job_id
        except HookChanged:
            continue  # changed (or deleted) meanwhile: look again
    raise HookChanged(f"hook {raw[b'hookId'].decode()!r} keeps changing; nothing was replayed")


def redeliver(dispatcher: Dispatcher, job_id: str) -> None:
    """Queue the job's callback once more, now."""
    raw = dispatcher.jobs.get(job_id)
    if raw is None:
        raise JobNotFound(f"no job {job_id!r}")
    finished = JobStatus(raw[b"status"].decode()).is_final
    hook = hook_of(dispatcher.hooks, job_id, raw)[0] if raw.get(b"hookId") else None
    if not finished or hook is None or not hook.callback_url:
        raise InvalidRequest("only a finished job of a hook with a callbackUrl can be redelivered")
    if not dispatcher.deliveries.queue(job_id, callback_task(job_id, dispatcher.settings)):
        raise JobNotFound(f"no job {job_id!r}")  # expired or deleted meanwhile
