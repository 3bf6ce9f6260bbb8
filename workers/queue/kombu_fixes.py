"""Guards around a kombu behaviour seen in hooklet's failover test, and a
Celery prefork one seen in its flood test (``_read_results_until_children_exit``).

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

The prefork pool: at a warm stop Celery forgets the tasks whose
acknowledgement from a child it has not read yet (``AsynPool.flush``: the
broker delivers them again), though one may already be in the child's pipe,
and the child runs it. The node then reads its children's results only while
it still waits for a task (``ResultHandler.on_stop_not_started``), and a child
leaves only once its node has read every result it sent (billiard's
``_ensure_messages_consumed``): a child that ran a forgotten task waited out
that check's 30 s, its jobs long ended (the flood test: about 1 stop in 5
under load; supervisord kills after 10 s). The node now reads on until its
children are gone.
"""

from __future__ import annotations

import logging
from typing import Any

from billiard.pool import TERMINATE, WorkersJoined
from celery.concurrency import asynpool
from kombu.transport import redis as kombu_redis

__all__ = ["install"]

log = logging.getLogger("hooklet.broker")
_installed = False


def install() -> None:
    """Wrap ``kombu.transport.redis.QoS.restore_unacked`` and ``ack``, and
    Celery's ``ResultHandler.on_stop_not_started``, once per process."""
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
    original_stop = asynpool.ResultHandler.on_stop_not_started

    def on_stop_not_started(self: Any) -> None:
        original_stop(self)
        _read_results_until_children_exit(self)

    asynpool.ResultHandler.on_stop_not_started = on_stop_not_started
    _installed = True


def _read_results_until_children_exit(handler: Any) -> None:
    """Celery's loop at a stop (``on_stop_not_started``) without its "while a
    task is pending": read each child's results until every child has
    exited, so none waits for its node to read one (a cold stop ends it)."""
    outqueues = set(handler.fileno_to_outq)
    while outqueues and handler._state != TERMINATE:
        try:
            handler.join_exited_workers(shutdown=True)
        except WorkersJoined:
            return
        gone: set[int] = set()
        for fd in outqueues:
            asynpool.iterate_file_descriptors_safely(
                [fd], handler.fileno_to_outq, handler._flush_outqueue,
                gone.add, handler.fileno_to_outq, handler.on_state_change,
            )  # fmt: skip
        outqueues -= gone
