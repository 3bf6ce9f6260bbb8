"""Worker nodes' reports (store/nodes.py): what the fleet view reads."""

from __future__ import annotations

from workers.store.keys.prefix import PREFIX


def nodes() -> str:
    """Sorted set: worker node name -> when it last reported (epoch s)."""
    return f"{PREFIX}:nodes"


def node(name: str) -> str:
    """String: a worker node's last report (JSON, ``store.nodes``); expires
    when the node stops reporting."""
    return f"{PREFIX}:node:{name}"
