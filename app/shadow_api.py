"""``GET /api/hooks/<id>/draft/shadow``: what shadow runs of the hook's draft
found (issue 25 item 4; workers/shadow runs them). The hook's ``shadow``
setting is written with the hook (``PUT``/``PATCH /api/hooks/<id>``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app import access, services
from app.access import protect, scope
from workers.errors import DraftNotFound
from workers.store.drafts import DraftStore
from workers.store.shadow.results import ShadowResults

__all__ = ["bp"]

bp = protect(Blueprint("shadow", __name__, url_prefix="/api"))


@bp.get("/hooks/<hook_id>/draft/shadow")
@scope("hooks:read")
def shadow_results(hook_id: str) -> Response:
    """Counts per outcome and the last differences, for the draft there is
    now (``draftVersion``: its etag; null and zeros without a draft)."""
    hook = access.hook(hook_id)  # another project's: 404
    client = services.dispatcher().redis
    try:
        etag: str | None = DraftStore(client).get(hook_id)[0].etag
    except DraftNotFound:
        etag = None
    counts, recent = ShadowResults(client, services.settings()).read(hook_id, etag)
    return jsonify({
        "sample": hook.shadow_sample,
        "draftVersion": etag,
        "counts": counts,
        "recent": [
            {"jobId": r["jobId"], "outcome": r["outcome"], "diff": r.get("diff"), "at": r["at"]}
            for r in recent
        ],
    })  # fmt: skip
