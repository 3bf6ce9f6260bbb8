"""The egress guard and the outbound client, on real name resolution and
local servers only. Public addresses appear solely where the guard refuses
the URL before any connection, or in ``check_url`` calls (which never
connect); every connection in this module goes to 127.0.0.0/8."""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import AF_INET6
from urllib.parse import urlsplit

import pytest

from workers.delivery import egress, exchange, outbound
from workers.delivery.egress import EgressRefused, UnresolvableHost, check_url, loggable_url
from workers.delivery.outbound import (
    UpstreamConnectFailed,
    UpstreamTimeout,
    UpstreamTooLarge,
    send,
)
from workers.settings import Settings

LOCAL = ("127.0.0.0/8",)


class Upstream:
    """A local HTTP server whose routes are small functions of the handler."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream.seen.append((self.command, self.path, dict(self.headers), body))
                route = upstream.routes.get(self.path.split("?")[0], upstream.ok)
                try:
                    route(self)
                except OSError:
                    pass  # the client went away (timeouts, size limits)

            do_GET = do_POST = do_HEAD = do_PUT = _any  # noqa: N815 - http.server's naming

            def log_message(self, *args: object) -> None:
                pass

        self.routes: dict[str, object] = {}
        server_class = ThreadingHTTPServer
        if ":" in host:
            server_class = type("V6Server", (ThreadingHTTPServer,), {"address_family": AF_INET6})
        self.server = server_class((host, 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        name = f"[{host}]" if ":" in host else host
        self.base = f"http://{name}:{self.server.server_port}"

    @staticmethod
    def reply(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def ok(self, h: BaseHTTPRequestHandler) -> None:
        self.reply(h, 200, b"hello", X_Upstream="yes")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Records (instead of making) every socket connection attempt."""
    attempts: list[tuple] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError(f"unexpected connection {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr("urllib3.util.connection.create_connection", refuse)
    return attempts


# -- parsing: one parser, and nothing the two parsers read differently -------

BACKSLASH = "http://127.0.0.1:43371\\@8.8.8.8/internal-admin"


@pytest.mark.parametrize(
    "url",
    [
        BACKSLASH,
        "http://8.8.8.8\\@127.0.0.1/",
        "http://user:pw@8.8.8.8/",
        "http://@8.8.8.8/",
        "http://8.8.8.8 /x",
        "http://8.8.8.8\t/x",
        "http://8.8.8.8/x\r\nHost: evil",
        "ftp://8.8.8.8/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "http:///nohost",
        "http://8.8.8.8:99999/",
        "http://8.8.8.8:0/",
        "//8.8.8.8/",
        "not-a-url",
    ],
)
def test_ambiguous_or_malformed_urls_are_refused(url: str, no_connect: list) -> None:
    with pytest.raises(EgressRefused, match="^URL not allowed: "):
        check_url(url, LOCAL)
    assert no_connect == []


def test_the_issues_backslash_url_is_refused_before_any_connection(no_connect: list) -> None:
    """urllib3 reads its host as 127.0.0.1 (allowlisted here), urlsplit as
    8.8.8.8: refused for the backslash, and nothing connects anywhere."""
    with pytest.raises(EgressRefused, match="backslash"):
        send("POST", BACKSLASH, body=b"{}", timeout_s=2, max_response_bytes=10, allowlist=LOCAL)
    assert no_connect == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://172.16.5.4/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        # IPv6 forms that reach IPv4 loopback or private space
        "http://[::127.0.0.1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b::a00:1]/",
        "http://[64:ff9b:1::1]/",
        "http://[2002:7f00:1::]/",
        "http://[2002:a00:1::1]/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        # numeric hosts WHATWG parsers read as 127.0.0.1
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://0177.0.0.1/",
        "http://[fe80::1%25eth0]/",
    ],
)
def test_internal_addresses_are_refused(url: str, no_connect: list) -> None:
    with pytest.raises(EgressRefused, match="^URL not allowed: "):
        send("GET", url, timeout_s=2, max_response_bytes=10)  # no allowlist
    assert no_connect == []


def test_the_message_names_the_rule_and_the_setting() -> None:
    with pytest.raises(EgressRefused) as refused:
        check_url("http://10.0.0.5/x", ())
    assert str(refused.value) == (
        "URL not allowed: 10.0.0.5 is a private address; allowlist it with HOOKLET_EGRESS_ALLOWLIST"
    )
    with pytest.raises(EgressRefused, match="localhost resolves to 127.0.0.1, which is a loopback"):
        check_url("http://localhost/", ())
    with pytest.raises(EgressRefused, match=r"embedded IPv4 127\.0\.0\.1"):
        check_url("http://[64:ff9b::7f00:1]/", ())


def test_public_addresses_pass_without_connecting(no_connect: list) -> None:
    target = check_url("http://93.184.215.14/hook?x=1", ())
    assert (target.host, target.port, target.addresses) == ("93.184.215.14", 80, ("93.184.215.14",))
    assert target.request_uri == "/hook?x=1"
    assert check_url("https://[2606:4700::1111]/", ()).host_header == "[2606:4700::1111]"
    assert check_url("http://[::ffff:8.8.8.8]/", ()).addresses == ("::ffff:808:808",)
    assert no_connect == []


def test_an_unresolvable_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def nxdomain(*args: object, **kwargs: object) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)  # no query leaves the machine
    with pytest.raises(UnresolvableHost, match="does not resolve") as refused:
        check_url("http://no-such-host.invalid/", ())
    assert refused.value.category == "dns error"


def test_a_lookup_is_bounded_by_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hanging(*args: object, **kwargs: object) -> list:
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        with pytest.raises(UpstreamTimeout, match="^Upstream request timed out: resolving"):
            send("GET", "http://slow-dns.test/", timeout_s=0.3, max_response_bytes=10)
    finally:
        release.set()


# Strings on which URL parsers are known to differ: whatever the guard lets
# through, urllib.parse and urllib3 must read with the same host and port.
DIFFERENTIALS = [
    "http://a.test#@b.test/",
    "http://a.test?@b.test/",
    "http://a.test;@b.test/",
    "http://a.test%2F@b.test/",
    "http://a.test%40b.test/",
    "http://%61.test/",
    "http://a.test:80:81/",
    "http://[::1]x/",
    "http:/a.test/",
    "http:a.test",
    "http://a.test:08/",
    "http://a.test:+80/",
    "http://a.test:８０/",
    "http://ａ.test/",
    "http://a.test./",
    "HTTP://A.TEST:80/",
    "http://a.test/%5C@b.test",
    "http://a.test\\b.test/",
    "http://a.test/path\\..\\x",
    "https://a.test:443/#frag",
    "http://[::ffff:7f00:1]:8080/",
]


@pytest.mark.parametrize("url", DIFFERENTIALS)
def test_what_passes_the_parser_check_both_parsers_read_alike(url: str) -> None:
    try:
        scheme, host, port, _, _ = egress._parse(url)
    except EgressRefused:
        return
    split = urlsplit(url)
    assert (split.scheme.lower(), (split.hostname or "").strip("[]"), split.port) == (
        scheme,
        host,
        port if split.port is not None else None,
    )


def test_allowlist_by_name_address_or_network() -> None:
    assert check_url("http://127.0.0.1:9000/x", ("127.0.0.1",)).addresses == ("127.0.0.1",)
    assert check_url("http://10.1.2.3/x", ("10.0.0.0/8",)).host == "10.1.2.3"
    assert "127.0.0.1" in check_url("http://localhost:9000/x", ("LOCALHOST",)).addresses
    assert check_url("http://[::ffff:127.0.0.1]/", ("127.0.0.1",)).host == "::ffff:127.0.0.1"
    with pytest.raises(EgressRefused):
        check_url("http://10.1.2.3/x", ("127.0.0.1",))
    with pytest.raises(EgressRefused):
        check_url("http://localhost/x", ("example.com",))


def test_allowlist_wildcards_cover_subdomains_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real("127.0.0.1", *a, **k),  # every name: no query leaves
    )
    wildcard = ("*.corp.test",)
    assert check_url("http://api.corp.test/", wildcard).addresses == ("127.0.0.1",)
    assert check_url("http://a.b.corp.test./", wildcard).addresses == ("127.0.0.1",)
    for url in ("http://corp.test/", "http://evilcorp.test/", "http://corp.test.evil.test/"):
        with pytest.raises(EgressRefused):
            check_url(url, wildcard)


def test_ipv6_loopback_is_refused_then_reached_when_allowlisted() -> None:
    server = Upstream("::1")
    try:
        with pytest.raises(EgressRefused, match="::1 is a loopback address"):
            send("GET", server.base + "/x", timeout_s=5, max_response_bytes=100)
        response = send(
            "GET", server.base + "/x", timeout_s=5, max_response_bytes=100, allowlist=("::1/128",)
        )
        assert (response.status, response.address) == (200, "::1")
        assert server.seen[0][2]["Host"] == f"[::1]:{server.server.server_port}"
    finally:
        server.close()


def test_callbacks_accept_both_allowlists() -> None:
    settings = Settings(egress_allowlist=("10.0.0.0/8",), callback_allowlist=("127.0.0.1",))
    assert egress.callback_allowlist(settings) == ("10.0.0.0/8", "127.0.0.1")


def test_loggable_url_drops_query_and_credentials() -> None:
    assert loggable_url("https://h.example:8443/p/a?token=s3cret#f") == "https://h.example:8443/p/a"


# -- the client: connects to the checked address ------------------------------


def test_send_returns_status_headers_and_body(upstream: Upstream) -> None:
    response = send(
        "POST",
        upstream.base + "/echo?q=1",
        headers={"X-Test": "1", "Host": "evil.example", "Content-Length": "99"},
        body=b"payload",
        timeout_s=5,
        max_response_bytes=100,
        allowlist=LOCAL,
    )
    assert (response.status, response.body, response.header("x-upstream")) == (200, b"hello", "yes")
    assert response.address == "127.0.0.1"
    method, path, headers, body = upstream.seen[0]
    assert (method, path, body) == ("POST", "/echo?q=1", b"payload")
    assert headers["Host"] == f"127.0.0.1:{upstream.server.server_port}"
    assert headers["Content-Length"] == "7"
    assert "User-Agent" not in headers


def test_a_name_resolving_to_loopback_is_refused_then_allowed_by_name(upstream: Upstream) -> None:
    url = f"http://localhost:{upstream.server.server_port}/x"
    with pytest.raises(EgressRefused, match="loopback"):
        send("GET", url, timeout_s=5, max_response_bytes=100)
    assert upstream.seen == []
    response = send("GET", url, timeout_s=5, max_response_bytes=100, allowlist=("localhost",))
    assert response.status == 200
    assert upstream.seen[0][2]["Host"] == f"localhost:{upstream.server.server_port}"


def test_dns_rebinding_cannot_move_the_connection(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard resolves once; the client never asks DNS again. Here the
    "DNS" answers 127.0.0.1 (allowlisted) to the check, then would answer
    127.0.0.2 (not allowlisted, where a second server listens)."""
    other = Upstream("127.0.0.2")
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2", "127.0.0.2"])
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, port: object, *args: object, **kwargs: object) -> list:
        if host == "rebind.test":
            lookups.append(host)
            host = next(answers)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        url = f"http://rebind.test:{upstream.server.server_port}/x"
        response = send("GET", url, timeout_s=5, max_response_bytes=100, allowlist=("127.0.0.1",))
        assert (response.status, response.address) == (200, "127.0.0.1")
        assert lookups == ["rebind.test"]  # one lookup: the guard's
        assert upstream.seen[0][2]["Host"] == f"rebind.test:{upstream.server.server_port}"
        assert other.seen == []
    finally:
        other.close()


def test_a_redirect_to_an_internal_address_is_refused(upstream: Upstream) -> None:
    target = Upstream("127.0.0.2")
    try:
        upstream.routes["/hop"] = lambda h: Upstream.reply(h, 302, Location=target.base + "/in")
        with pytest.raises(EgressRefused, match="127.0.0.2 is a loopback"):
            send(
                "GET",
                upstream.base + "/hop",
                timeout_s=5,
                max_response_bytes=100,
                allowlist=("127.0.0.1",),
                max_redirects=5,
            )
        assert target.seen == []
        # without following, the 3xx is the answer
        response = send(
            "GET", upstream.base + "/hop", timeout_s=5, max_response_bytes=100, allowlist=LOCAL
        )
        assert (response.status, response.header("location")) == (302, target.base + "/in")
    finally:
        target.close()


def test_redirects_are_followed_through_the_guard(upstream: Upstream) -> None:
    upstream.routes["/a"] = lambda h: Upstream.reply(h, 303, Location="/b")
    upstream.routes["/loop"] = lambda h: Upstream.reply(h, 307, Location="/loop")
    response = send(
        "POST",
        upstream.base + "/a",
        headers={"Authorization": "Bearer t", "Content-Type": "text/plain"},
        body=b"x",
        timeout_s=5,
        max_response_bytes=100,
        allowlist=LOCAL,
        max_redirects=3,
    )
    assert (response.status, response.redirects, response.url) == (200, 1, upstream.base + "/b")
    method, path, headers, body = upstream.seen[-1]
    assert (method, path, body, headers.get("Authorization")) == ("GET", "/b", b"", "Bearer t")
    with pytest.raises(outbound.UpstreamFailed, match="more than 3 redirects"):
        send(
            "GET",
            upstream.base + "/loop",
            timeout_s=5,
            max_response_bytes=100,
            allowlist=LOCAL,
            max_redirects=3,
        )


def test_a_body_bomb_is_cut_at_the_limit(upstream: Upstream) -> None:
    def bomb(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"x" * 65536
        for _ in range(16 * 1024):  # 1 GiB if nobody stops reading
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        h.wfile.write(b"0\r\n\r\n")

    upstream.routes["/bomb"] = bomb
    upstream.routes["/long"] = lambda h: Upstream.reply(h, 200, b"y" * 5000)
    with pytest.raises(UpstreamTooLarge, match="exceeds limit of 100000 bytes") as too_large:
        send(
            "GET",
            upstream.base + "/bomb",
            timeout_s=30,
            max_response_bytes=100_000,
            allowlist=LOCAL,
        )
    assert too_large.value.upstream_status == 200
    with pytest.raises(UpstreamTooLarge) as declared:
        send("GET", upstream.base + "/long", timeout_s=5, max_response_bytes=4999, allowlist=LOCAL)
    assert str(declared.value) == (
        "Upstream response body too large: 5000 bytes exceeds limit of 4999 bytes"
    )


def test_a_gzip_bomb_is_cut_on_the_decoded_size(upstream: Upstream) -> None:
    packed = gzip.compress(b"\0" * 10_000_000)
    upstream.routes["/gz"] = lambda h: Upstream.reply(h, 200, packed, Content_Encoding="gzip")
    with pytest.raises(UpstreamTooLarge):
        send(
            "GET",
            upstream.base + "/gz",
            timeout_s=10,
            max_response_bytes=1_000_000,
            allowlist=LOCAL,
            decompress=True,
        )
    raw = send(
        "GET", upstream.base + "/gz", timeout_s=10, max_response_bytes=1_000_000, allowlist=LOCAL
    )
    assert raw.body == packed


def test_one_deadline_covers_a_trickling_upstream(upstream: Upstream) -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.05)

    def silent(h: BaseHTTPRequestHandler) -> None:
        time.sleep(5)

    upstream.routes["/trickle"] = trickle
    upstream.routes["/silent"] = silent
    for path in ("/trickle", "/silent"):
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout, match="^Upstream request timed out"):
            send(
                "GET",
                upstream.base + path,
                timeout_s=0.5,
                max_response_bytes=10_000,
                allowlist=LOCAL,
            )
        # each 50 ms byte would reset a per-read timeout; the deadline holds
        assert time.monotonic() - started < 4


def test_connection_refused_uses_secutils_text() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamConnectFailed, match="^Failed to connect to upstream") as failed:
        send(
            "GET", f"http://127.0.0.1:{port}/", timeout_s=5, max_response_bytes=10, allowlist=LOCAL
        )
    assert failed.value.category == "connection refused"


# -- TLS: connect to the checked IP, verify the certificate for the name ------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str, list]]:
    """An HTTPS server on 127.0.0.1 whose self-signed certificate names only
    ``localhost`` (no IP), recording the SNI names clients send."""
    workdir = tmp_path_factory.mktemp("tls")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    names: list = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = Upstream()
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    yield server.server.server_port, str(cert), names
    server.close()


def test_https_connects_to_the_ip_and_verifies_the_name(
    tls_server: tuple[int, str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, ca, names = tls_server
    monkeypatch.setattr(exchange.certifi, "where", lambda: ca)
    response = send(
        "GET",
        f"https://localhost:{port}/x",
        timeout_s=5,
        max_response_bytes=100,
        allowlist=("localhost",),
    )
    assert (response.status, response.body, response.address) == (200, b"hello", "127.0.0.1")
    assert names[-1] == "localhost"  # SNI is the name, though the socket went to the IP


def test_https_refuses_a_certificate_for_another_name(
    tls_server: tuple[int, str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, ca, _ = tls_server
    monkeypatch.setattr(exchange.certifi, "where", lambda: ca)
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real("127.0.0.1" if host == "other.test" else host, *a, **k),
    )
    url = f"https://other.test:{port}/x"
    with pytest.raises(outbound.UpstreamFailed, match="^Upstream request failed: TLS") as failed:
        send("GET", url, timeout_s=5, max_response_bytes=100, allowlist=("127.0.0.1",))
    assert failed.value.category == "tls error"


def test_https_untrusted_unless_insecure(tls_server: tuple[int, str, list]) -> None:
    port, _, _ = tls_server
    url = f"https://localhost:{port}/x"
    with pytest.raises(outbound.UpstreamFailed, match="TLS error"):
        send("GET", url, timeout_s=5, max_response_bytes=100, allowlist=("localhost",))
    response = send(
        "GET", url, timeout_s=5, max_response_bytes=100, allowlist=("localhost",), insecure=True
    )
    assert response.status == 200


@pytest.mark.parametrize(
    ("method", "headers", "message"),
    [
        ("INVALID METHOD WITH SPACES", {}, "Invalid HTTP method: 'INVALID METHOD WITH SPACES'"),
        ("GET", {"invalid header\nname": "x"}, "Invalid header name: 'invalid header\nname'"),
        ("GET", {"X-Split": "a\r\nInjected: 1"}, "Invalid header value for 'X-Split'"),
        ("GET", {"X-Folded": "a\r\n b"}, "Invalid header value for 'X-Folded'"),
    ],
)
def test_an_invalid_method_or_header_never_reaches_the_wire(
    upstream: Upstream, method: str, headers: dict, message: str
) -> None:
    with pytest.raises(ValueError) as invalid:
        send(method, upstream.base, headers=headers, timeout_s=5, max_response_bytes=10)
    assert str(invalid.value) == message
    assert upstream.seen == []


def test_a_tls_handshake_that_never_ends_is_bounded() -> None:
    """The deadline watches the socket before TLS starts: a server that
    accepts and never answers the ClientHello cannot hold the request."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            send(
                "GET",
                f"https://127.0.0.1:{port}/",
                timeout_s=0.5,
                max_response_bytes=10,
                allowlist=LOCAL,
            )
        assert time.monotonic() - started < 4


def test_the_response_reports_what_was_sent(upstream: Upstream) -> None:
    upstream.routes["/r"] = lambda h: Upstream.reply(h, 307, Location="/s")
    response = send(
        "PUT",
        upstream.base + "/r",
        body=b"12345",
        timeout_s=5,
        max_response_bytes=100,
        allowlist=LOCAL,
        max_redirects=1,
    )
    assert (response.status, response.bytes_out, response.history) == (
        200,
        10,  # 307 keeps the method and body: sent twice
        [upstream.base + "/r"],
    )
    assert [seen[:2] for seen in upstream.seen] == [("PUT", "/r"), ("PUT", "/s")]
