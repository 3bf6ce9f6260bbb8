"""The guard on kombu's restore of unacknowledged messages (kombu is a third
party: its channel is stood in for by the smallest object that shows the state
a lost broker connection leaves)."""

from __future__ import annotations

from types import SimpleNamespace

from kombu.transport import redis as kombu_redis

from workers.queue import kombu_fixes


def test_a_restore_after_the_connection_is_gone_is_left_to_the_sweep() -> None:
    kombu_fixes.install()
    kombu_fixes.install()  # once per process, however often it is called
    channel = SimpleNamespace(connection=SimpleNamespace(client=None))
    qos = SimpleNamespace(channel=channel, _delivered={"tag": object()})
    # Unguarded, kombu builds a pool from the missing client and raises
    # AttributeError, which ends the Celery worker node.
    assert kombu_redis.QoS.restore_unacked(qos) is None
    assert qos._delivered  # left in place: Redis's unacked hash still has them
