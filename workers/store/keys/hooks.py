"""A hook's keys: its definition, versions, scripts, revisions, draft and shadow runs."""

from __future__ import annotations

from workers.store.keys.prefix import PREFIX


def hook(hook_id: str) -> str:
    """Hash: the hook definition (``def`` JSON) and its ``etag``."""
    return f"{PREFIX}:hook:{hook_id}"


def hook_versions(hook_id: str) -> str:
    """String: the last version number given to any hook with this id. Kept
    when the hook is deleted, so versions never repeat: a re-created hook never
    matches a warm isolate or cached spec (keyed by id and version) of the old one."""
    return f"{PREFIX}:hookversions:{hook_id}"


def hook_ids() -> str:
    """Set: ids of every stored hook."""
    return f"{PREFIX}:hooks"


def script(hook_id: str, version: int) -> str:
    """String: the source of one version of a hook's script."""
    return f"{PREFIX}:script:{hook_id}:{version}"


def scripts_of(hook_id: str) -> str:
    """SCAN pattern: every stored script version of a hook (``script``)."""
    return f"{PREFIX}:script:{hook_id}:*"


def hook_revision(hook_id: str, version: int) -> str:
    """String: one version's settings (JSON, without script or credentials), so
    a rollback brings back the whole version, not only its script (``script``)."""
    return f"{PREFIX}:hookrev:{hook_id}:{version}"


def hook_revisions_of(hook_id: str) -> str:
    """SCAN pattern: every stored version's settings of a hook (``hook_revision``)."""
    return f"{PREFIX}:hookrev:{hook_id}:*"


def hook_draft(hook_id: str) -> str:
    """String: the hook's draft (JSON: a whole definition, the live version it
    was saved over, the hook's ``since``); deleted with the hook or when promoted."""
    return f"{PREFIX}:hookdraft:{hook_id}"


def shadow_results(hook_id: str) -> str:
    """Hash: the hook's shadow run counts by outcome, for the draft whose
    ``etag`` it holds (reset when the draft changes; workers/store/shadow)."""
    return f"{PREFIX}:shadow:{hook_id}"


def shadow_recent(hook_id: str) -> str:
    """List: the hook's last shadow runs that did not answer the same (JSON,
    newest first, capped), for the draft of ``shadow_results``' etag."""
    return f"{PREFIX}:shadowrecent:{hook_id}"
