"""Standard Webhooks honours the hook's ``toleranceS`` both ways: shorter
than the library's fixed 5 minutes (a 2-minute-old message is refused under
60 s) and longer (a 10-minute-old one is admitted under an hour, and still
only with the right signature). The declared lower bound of the library has
the ``verify`` argument hooklet passes."""

from __future__ import annotations

import inspect
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.support.signing import SW_SECRET, standard_headers
from workers.delivery.signatures import verify_request
from workers.errors import SignatureInvalid

BODY = '{"event":"ping","name":"Zoë"}'.encode()
ROOT = Path(__file__).resolve().parents[2]


def verify(tolerance_s: int, headers: dict[str, str], body: bytes = BODY) -> None:
    rule = {"scheme": "standard-webhooks", "secret": SW_SECRET, "toleranceS": tolerance_s}
    verify_request(rule, headers, body)


def sent(ago: timedelta, secret: str = SW_SECRET) -> dict[str, str]:
    return standard_headers(secret, BODY, datetime.now(UTC) - ago)


def test_a_short_tolerance_refuses_what_the_library_would_admit() -> None:
    with pytest.raises(SignatureInvalid, match="too old"):
        verify(60, sent(timedelta(minutes=2)))
    with pytest.raises(SignatureInvalid, match="too new"):
        verify(60, sent(-timedelta(minutes=2)))
    verify(60, sent(timedelta(seconds=10)))


def test_a_long_tolerance_admits_an_older_message_signed_right() -> None:
    verify(3600, sent(timedelta(minutes=10)))
    verify(3600, sent(-timedelta(minutes=10)))
    with pytest.raises(SignatureInvalid, match="signature"):
        verify(3600, sent(timedelta(minutes=10), secret="whsec_" + "QUJD" * 8))
    with pytest.raises(SignatureInvalid):
        verify(3600, sent(timedelta(minutes=10)), BODY + b" ")  # tampered
    with pytest.raises(SignatureInvalid, match="too old"):
        verify(3600, sent(timedelta(hours=2)))


def test_the_default_tolerance_is_five_minutes() -> None:
    verify(300, sent(timedelta(minutes=4)))
    with pytest.raises(SignatureInvalid):
        verify(300, sent(timedelta(minutes=6)))


@pytest.mark.parametrize("stamp", ["", "soon", "nan", "inf", "-inf"])
def test_a_timestamp_that_is_no_time_is_refused(stamp: str) -> None:
    headers = {**sent(timedelta(0)), "webhook-timestamp": stamp}
    with pytest.raises(SignatureInvalid):
        verify(3600, headers)


def test_the_declared_library_version_has_the_verify_argument_hooklet_passes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pin = next(d for d in project["dependencies"] if d.startswith("standardwebhooks"))
    lower = re.search(r">=\s*([\d.]+)", pin)
    assert lower, pin
    # json_parse came with 1.1.0; 1.0.x's verify() has no such argument
    assert tuple(int(p) for p in lower.group(1).split(".")) >= (1, 1, 0), pin
    assert "json_parse" in inspect.signature(Webhook.verify).parameters
