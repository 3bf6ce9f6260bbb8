"""The fast layer cannot start gunicorn or Celery by mistake: the guard
lives in ``stackkit.processes`` and tests/conftest.py clears it for tests
not marked ``stack``, whichever module the test imported the classes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackkit import Web, Worker
from tests.support import stack


@pytest.mark.parametrize("kind", [Worker, Web, stack.Worker, stack.Web])
def test_a_fast_test_cannot_start_processes(kind: type, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="mark it @pytest.mark.stack"):
        kind({}, tmp_path).start()
