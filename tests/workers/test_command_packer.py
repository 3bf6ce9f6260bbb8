"""The hiredis command packer (workers/store/command_packer.py): every
process's Redis clients pack commands with it, so it must send exactly what
redis-py's own packer sends, and refuse what redis-py refuses."""

from __future__ import annotations

import pytest
import redis
from redis.connection import Connection
from redis.exceptions import DataError

from stackkit import RedisServer
from workers.store.command_packer import COMMAND_PACKER
from workers.store.connection import connect

SAME_BYTES = [
    ("SET", "k", b"v"),
    ("EVALSHA", "a" * 40, 2, "k1", "k2", 1.5, 0.1, 1 / 3, -3, 10**30, "é\u2603", b"\r\n\x00", b""),
    ("SET", "k", memoryview(b"view")),
    ("CONFIG GET", "maxmemory"),  # a command name of two words
    (b"GET", "x"),
    ("SET", "k", bytearray(b"converted by redis-py")),
    ("SET", "k", 1e300),
    ("SET", "k", float("inf")),
]


def _redis_py_packed(args: tuple) -> bytes:
    return b"".join(bytes(chunk) for chunk in Connection()._command_packer.pack(*args))


@pytest.mark.parametrize("args", SAME_BYTES, ids=lambda a: str(a[0]))
def test_packs_the_same_bytes_as_redis_py(args: tuple) -> None:
    packed = b"".join(bytes(chunk) for chunk in COMMAND_PACKER.pack(*args))
    assert packed == _redis_py_packed(args)


@pytest.mark.parametrize(
    ("value", "error"),
    [(True, DataError), (None, DataError), (object(), DataError), ("\ud800", UnicodeEncodeError)],
    ids=["bool", "None", "object", "lone surrogate"],
)
def test_refuses_what_redis_py_refuses(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        COMMAND_PACKER.pack("SET", "k", value)
    with pytest.raises(error):
        _redis_py_packed(("SET", "k", value))


def test_a_hooklet_client_stores_and_runs_scripts_with_values_intact(
    redis_server: RedisServer,
) -> None:
    client = connect(redis_server.url)
    connection = client.connection_pool.get_connection()
    try:
        assert connection._command_packer is COMMAND_PACKER
    finally:
        client.connection_pool.release(connection)
    values = ["é\u2603", b"\r\n$3\r\n\x00", 1.5, 10**30, -7, ""]
    echoed = client.eval(
        "local out = {} for i, v in ipairs(ARGV) do out[i] = v end return out", 1, "k", *values
    )
    expected = ["é\u2603".encode(), b"\r\n$3\r\n\x00", b"1.5", b"1" + b"0" * 30, b"-7", b""]
    assert echoed == expected
    client.set("hooklet-test:packer", "é")
    assert client.get("hooklet-test:packer") == "é".encode()
    assert client.config_get("maxmemory")  # a two-word command still reaches Redis
    with pytest.raises(redis.DataError):
        client.set("hooklet-test:packer", None)  # type: ignore[arg-type]
    client.delete("hooklet-test:packer")
