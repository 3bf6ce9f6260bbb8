"""The reading that ``/readyz`` and ``/metrics`` share between requests
(issue 20 item 1: no unauthenticated route may multiply work that grows with
the fleet): requests at the same time share one reading; requests in turn
each get a new one unless it is still fresh."""

from __future__ import annotations

import threading

from app.shared_reading import SharedReading


def _burst(reading: SharedReading, take, n: int = 20) -> list:  # noqa: ANN001
    start, results = threading.Barrier(n), []

    def call() -> None:
        start.wait(10)
        results.append(reading.get(take, lambda: "busy"))

    threads = [threading.Thread(target=call) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_requests_at_the_same_time_share_one_reading() -> None:
    taken = []
    release = threading.Event()

    def take() -> int:
        taken.append(1)
        release.wait(10)  # slow: every other request arrives meanwhile
        return len(taken)

    threading.Timer(0.5, release.set).start()
    results = _burst(SharedReading(fresh_s=0.0, wait_s=20), take)
    assert len(results) == 20 and "busy" not in results
    assert len(taken) <= 2  # one, or two if a request came after the first ended
    assert len(taken) < len(results)


def test_requests_in_turn_get_new_readings_unless_fresh() -> None:
    counter = iter(range(100))
    every_time = SharedReading(fresh_s=0.0, wait_s=1)
    assert [every_time.get(lambda: next(counter), lambda: -1) for _ in range(3)] == [0, 1, 2]
    kept = SharedReading(fresh_s=60, wait_s=1)
    assert [kept.get(lambda: next(counter), lambda: -1) for _ in range(3)] == [3, 3, 3]


def test_a_request_that_waits_too_long_is_told_busy() -> None:
    reading = SharedReading(fresh_s=0.0, wait_s=0.2)
    release = threading.Event()
    holder = threading.Thread(target=reading.get, args=(lambda: release.wait(10), lambda: None))
    holder.start()
    try:
        while not reading._lock.locked():  # noqa: SLF001 - the holder is taking it
            pass
        assert reading.get(lambda: "mine", lambda: "busy") == "busy"
    finally:
        release.set()
        holder.join(10)
