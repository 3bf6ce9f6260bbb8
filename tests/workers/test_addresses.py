"""The SSRF guard, on real name resolution."""

from __future__ import annotations

import pytest

from workers.delivery.egress import InternalAddress, check_public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://172.16.5.4/",
        "http://169.254.169.254/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[fd00::1]/",
        "ftp://example.com/",
        "http:///nohost",
    ],
)
def test_internal_or_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(InternalAddress):
        check_public(url)


def test_public_addresses_pass() -> None:
    check_public("http://93.184.215.14/hook")
    check_public("https://[2606:4700::1111]/hook")


def test_allowlist_by_address_network_or_name() -> None:
    check_public("http://127.0.0.1:9000/x", ("127.0.0.1",))
    check_public("http://10.1.2.3/x", ("10.0.0.0/8",))
    check_public("http://localhost:9000/x", ("localhost",))
    with pytest.raises(InternalAddress):
        check_public("http://10.1.2.3/x", ("127.0.0.1",))
