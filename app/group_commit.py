"""Group commit for the web process's Lua steps: concurrent requests' EVALSHAs
share one round trip.

Each event's CREATE is one atomic EVALSHA, and each costs a round trip:
a send and a receive in the web process and a read and a write in Redis
(~35 µs of Redis's CPU before any work; a command more in the same pipeline
costs ~2.5 µs). While one process's call is on the wire, the requests that
reach their own call queue theirs; when its reply is in, the first of them
sends them all in one pipeline (plain EVALSHAs, no transaction: each stays
its own atomic step) and hands each caller its own reply. A request never
waits for a timer: alone, its call goes at once, as before; under load, it
waits at most for the call already on the wire.

Nothing is answered before its own step's reply: an event is in Redis
when its caller returns, as before. An error reply (NOSCRIPT, OOM, a
script's error) is its own caller's; a connection error fails the calls of
that pipeline, each of which its caller reports (503) as it would have.
"""

from __future__ import annotations

from threading import Event, Lock
from typing import Any

import redis

__all__ = ["GroupCommitRedis"]


_NO_REPLY = object()


class _Call:
    __slots__ = ("args", "woken", "lead", "reply", "error")

    def __init__(self, args: tuple[Any, ...]) -> None:
        self.args = args
        self.woken: Event | None = None  # made only for a call that waits
        self.lead = False  # woken to send the queued calls, not with a reply
        self.reply: Any = _NO_REPLY
        self.error: BaseException | None = None


class GroupCommitRedis(redis.Redis):
    """A client on ``client``'s pool whose ``evalsha`` calls (what a
    registered script's call becomes) share round trips; every other command
    is the plain client's."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__(connection_pool=client.connection_pool)
        self._lock = Lock()
        self._queue: list[_Call] = []
        self._sending = False
        self.round_trips = 0  # pipelines and single calls sent (tests read it)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        call = _Call(("EVALSHA", sha, numkeys, *keys_and_args))
        with self._lock:
            self._queue.append(call)
            lead = not self._sending
            if lead:
                self._sending = True
            else:
                call.woken = Event()
        if call.woken is not None:
            try:
                call.woken.wait()
            except BaseException:
                self._abandon(call)  # e.g. its greenlet killed at a worker's stop
                raise
        if lead or call.lead:
            self._send_queued()
        if call.error is not None:
            raise call.error
        return call.reply

    def _send_queued(self) -> None:
        """Send every queued call (this caller's among them), then wake the
        first call queued meanwhile to send the next group, so that no caller
        keeps sending for others while its own answer waits."""
        with self._lock:
            calls, self._queue = self._queue, []
        try:
            self._send(calls)
        finally:
            for call in calls:
                if call.reply is _NO_REPLY and call.error is None:
                    # The sender was interrupted (its greenlet killed): the
                    # others cannot know whether their step ran.
                    call.error = redis.ConnectionError("the call's round trip was interrupted")
            self._hand_on()
            for call in calls:
                if call.woken is not None:
                    call.woken.set()

    def _hand_on(self) -> None:
        """Wake the first queued call to send the next group (or mark that
        none is being sent)."""
        with self._lock:
            following = self._queue[0] if self._queue else None
            self._sending = following is not None
            if following is not None:
                following.lead = True
        if following is not None:
            following.woken.set()  # type: ignore[union-attr] - a queued call waits

    def _abandon(self, call: _Call) -> None:
        """A caller stopped waiting: its call, if not sent yet, never will be;
        if it was woken to send the next group, the next call sends it."""
        with self._lock:
            if call in self._queue:
                self._queue.remove(call)
            chosen = call.lead
        if chosen:
            self._hand_on()

    def _send(self, calls: list[_Call]) -> None:
        self.round_trips += 1
        if len(calls) == 1:
            try:
                calls[0].reply = self.execute_command(*calls[0].args)
            except Exception as exc:  # noqa: BLE001 - handed to its own caller
                calls[0].error = exc
            return
        try:
            with self.pipeline(transaction=False) as pipe:
                for call in calls:
                    pipe.execute_command(*call.args)
                replies = pipe.execute(raise_on_error=False)
        except Exception as exc:  # noqa: BLE001 - every caller of the group sees it
            for call in calls:
                call.error = exc
            return
        for call, reply in zip(calls, replies, strict=True):
            if isinstance(reply, Exception):
                call.error = reply
            else:
                call.reply = reply
