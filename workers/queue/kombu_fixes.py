"""A guard around one kombu behaviour seen in hooklet's failover test.

When the broker connection drops, Celery's consumer first collects the
connection (the transport lets go of its client), then closes it; closing the
channel restores the messages it had delivered but not acknowledged, which
needs a new connection pool, built from the client that is gone:
``AttributeError: 'NoneType' object has no attribute 'hostname'`` in
``_connparams``, which Celery treats as unrecoverable and the worker node
exits (kombu 5.7, Sentinel transport, primary SIGKILLed).

The same happens when a task ends while the connection is gone (Redis
restarted under a running script): acknowledging its message needs a client
too, and the node exits. So an acknowledgement is skipped the same way.

With the guard the restore (or the acknowledgement) is skipped when the
connection is already gone.
Nothing is lost: the messages stay in kombu's ``unacked`` hash in Redis and
its visibility-timeout sweep puts them back, and a job that had begun is
queued again by hooklet's reaper. The worker reconnects and carries on.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

__all__ = ["install"]

log = logging.getLogger("hooklet.broker")
_installed = False


def install() -> None:
    """Wrap ``kombu.transport.redis.QoS.restore_unacked`` and ``ack`` once per
    process."""
    global _installed
    if _installed:
        return
    original = kombu_redis.QoS.restore_unacked

    def restore_unacked(self: Any, client: Any = None) -> Any:
        transport = getattr(self.channel, "connection", None)
        if client is None and getattr(transport, "client", None) is None:
            log.warning(
                "broker connection already gone: %d unacknowledged message(s) are left "
                "to the visibility-timeout sweep",
                len(self._delivered),
            )
            return None
        return original(self, client)

    original_ack = kombu_redis.QoS.ack

    def ack(self: Any, delivery_tag: Any) -> Any:
        if getattr(getattr(self.channel, "connection", None), "client", None) is None:
            log.warning(
                "broker connection already gone: the acknowledgement is left to the "
                "visibility-timeout sweep (the message comes back; a job that ended is "
                "not run again)"
            )
            return None
        return original_ack(self, delivery_tag)

    kombu_redis.QoS.restore_unacked = restore_unacked
    kombu_redis.QoS.ack = ack
    _installed = True
