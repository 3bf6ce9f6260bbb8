"""``PATCH /api/hooks/<id>``'s merge: the stored definition with the fields
sent, as JSON Merge Patch (RFC 7396) has it. A field sent replaces the
stored one; an object sent (``limits``, ``response``, ``secrets``,
``verify``...) is merged into the stored object, key by key; ``null``
removes a field or key, which then takes its default (``secrets: {"a":
null}`` drops one secret and keeps the others). Fields left out keep their
stored values, secrets and ``verify.secret`` included, although the API
never shows them."""

from __future__ import annotations

from typing import Any

from workers.store.hooks import Hook

__all__ = ["definition_of", "merge_patch", "sends_credentials"]

# What ``Hook.to_json`` shows that is not part of a definition one writes.
_READ_ONLY = ("id", "project", "version", "createdAt", "updatedAt", "secretNames", "script")


def definition_of(hook: Hook) -> dict[str, Any]:
    """The stored hook as a definition a ``PUT`` would take, credentials
    included (for the server's own merge; never sent to a client)."""
    data = {k: v for k, v in hook.to_json().items() if k not in _READ_ONLY}
    data["script"] = hook.script
    data["limits"] = {k: v for k, v in data["limits"].items() if v is not None}
    data["secrets"] = dict(hook.secrets)
    data["verify"] = None if hook.verify is None else dict(hook.verify)
    return data


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: ``patch`` applied to ``target`` (neither is changed)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


def sends_credentials(patch: dict[str, Any]) -> bool:
    """Whether the patch names secrets: then it always makes a new version,
    as a ``PUT`` with secrets does (``HookStore.put``), so the version never
    tells whether a guessed secret was right."""
    verify = patch.get("verify")
    return "secrets" in patch or (isinstance(verify, dict) and "secret" in verify)
