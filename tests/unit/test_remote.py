"""Remote lookups: the allow-list, address checks, limits and redirects against a real server.

A real HTTP server runs on 127.0.0.1 in a thread; the loopback policy below allows private
targets and plain http only because that server is on loopback.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from credstack.crypto import status_list
from credstack.crypto.did import VerificationMethod, did_document, did_web
from credstack.crypto.keys import Ed25519Key, ed25519_from_seed, rebind
from credstack.domain.errors import Invalid
from credstack.remote import (
    ACCEPT,
    BAD_RESPONSE,
    MAX_REDIRECTS,
    REFUSED,
    UNREACHABLE,
    RemoteDidResolver,
    RemoteError,
    RemoteFetcher,
    RemotePolicy,
    RemoteStatusLists,
    address_refusal,
    fetch_did_web,
    host_allowed,
)
from credstack.services.issuing import sign
from credstack.services.verifying import VerifyOptions, verify

KEY = ed25519_from_seed(bytes.fromhex("4f" * 32))
OTHER = ed25519_from_seed(bytes.fromhex("a1" * 32))
NOW = datetime(2025, 3, 1, tzinfo=UTC)
SIGNED = datetime(2025, 1, 1, tzinfo=UTC)
INDEX = 94567
VC_V2 = "https://www.w3.org/ns/credentials/v2"
SECRET = "SECRET-TAIL-OF-THE-BODY"


# -- the server --------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    path: str
    headers: Mapping[str, str]


Route = Callable[["Handler"], None]


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[Seen] = []
        self.routes: dict[str, Route] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RecordingServer

    def do_GET(self) -> None:
        self.server.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.close_connection = True
        route = self.server.routes.get(self.path)
        try:
            if route is None:
                self.send_body(404, b'{"error": "not found"}')
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (size limit, timeout)

    def send_body(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``server.seen`` instead."""


def json_route(document: Mapping[str, Any]) -> Route:
    body = json.dumps(document).encode()
    return lambda handler: handler.send_body(200, body)


def redirect_route(location: str) -> Route:
    def route(handler: Handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.send_header("Connection", "close")
        handler.end_headers()

    return route


def slow_route(handler: Handler) -> None:
    time.sleep(1.0)
    handler.send_body(200, b"{}")


def chunked_route(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b" " * 500
    for _ in range(20):
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    handler.wfile.write(b"0\r\n\r\n")


@dataclass
class Site:
    """The running server and what it serves."""

    server: RecordingServer
    port: int
    did: str
    web_key: Ed25519Key
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def seen(self) -> list[Seen]:
        return self.server.seen

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def status_list_credential(url: str, signer: Ed25519Key, issuer: str, **subject: Any) -> Any:
    bits = status_list.new_bitstring()
    status_list.set_status(bits, INDEX)
    document = {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": status_list.encode(bits),
            **subject,
        },
    }
    return sign(document, signer, created=SIGNED)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    server = RecordingServer()
    port = server.server_address[1]
    assert isinstance(port, int)
    did = did_web(f"http://127.0.0.1:{port}/issuers/acme")
    web_key = rebind(KEY, did)
    assert isinstance(web_key, Ed25519Key)
    forger = rebind(OTHER, did, web_key.verification_method)
    assert isinstance(forger, Ed25519Key)
    did_doc = did_document(did, [VerificationMethod(web_key.verification_method, did, KEY.public)])
    listed = f"http://127.0.0.1:{port}/status/revocation"
    documents = {
        "did": did_doc,
        "revocation": status_list_credential(listed, web_key, did),
        "forged": status_list_credential(f"http://127.0.0.1:{port}/status/forged", forger, did),
        "short-ttl": status_list_credential(
            f"http://127.0.0.1:{port}/status/short-ttl", web_key, did, ttl=1000
        ),
    }
    html = b"<html><body>" + b"x" * 300 + SECRET.encode() + b"</body></html>"
    server.routes.update(
        {
            "/issuers/acme/did.json": json_route(did_doc),
            "/issuers/impostor/did.json": json_route(did_doc),
            "/status/revocation": json_route(documents["revocation"]),
            "/status/forged": json_route(documents["forged"]),
            "/status/short-ttl": json_route(documents["short-ttl"]),
            "/status/copy": json_route(documents["revocation"]),
            "/big": lambda h: h.send_body(200, b" " * 5000),
            "/chunked": chunked_route,
            "/slow": slow_route,
            "/redirect-away": redirect_route("http://elsewhere.example/issuers/acme/did.json"),
            "/redirect-home": redirect_route("/issuers/acme/did.json"),
            "/loop": redirect_route("/loop"),
            "/not-json": lambda h: h.send_body(200, html, "text/html"),
            "/array": lambda h: h.send_body(200, b"[1, 2, 3]"),
        }
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(server, port, did, web_key, documents)
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class TlsSite:
    port: int
    trust: ssl.SSLContext
    seen: list[Seen]


def self_signed(name: str, directory: Path) -> tuple[Path, Path, bytes]:
    """A certificate for ``name`` (key file, cert file, cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_file, cert_file = directory / "key.pem", directory / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(pem)
    return key_file, cert_file, pem


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsSite]:
    """An https server on loopback whose certificate names ``pinned.test``."""
    key_file, cert_file, pem = self_signed("pinned.test", tmp_path_factory.mktemp("tls"))
    server = RecordingServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.routes["/.well-known/did.json"] = json_route({"id": "did:web:pinned.test"})
    port = server.server_address[1]
    assert isinstance(port, int)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TlsSite(port, ssl.create_default_context(cadata=pem.decode()), server.seen)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(site: Site) -> Site:
    site.seen.clear()
    return site


def loopback(**changes: Any) -> RemoteFetcher:
    settings: dict[str, Any] = {
        "allowlist": ("127.0.0.1",),
        "allow_private": True,
        "https_only": False,
        **changes,
    }
    return RemoteFetcher(RemotePolicy(**settings))


def refusal(fetcher: RemoteFetcher, url: str) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        fetcher.get_json(url)
    return caught.value


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# -- the policy, before any connection ---------------------------------------------------


def test_a_host_not_on_the_allow_list_is_refused_without_connecting(served: Site) -> None:
    error = refusal(loopback(allowlist=("issuer.example",)), served.url("/big"))
    assert error.code == REFUSED
    assert "'127.0.0.1' is not on the remote allow-list" in error.message
    assert isinstance(error, Invalid)
    assert served.seen == []


def test_an_empty_allow_list_allows_nothing(served: Site) -> None:
    assert refusal(loopback(allowlist=()), served.url("/big")).code == REFUSED
    assert served.seen == []


def test_loopback_is_refused_unless_private_targets_are_allowed(served: Site) -> None:
    error = refusal(loopback(allow_private=False), served.url("/issuers/acme/did.json"))
    assert error.code == REFUSED
    assert "127.0.0.1" in error.message
    assert "loopback" in error.message
    assert served.seen == []


def test_a_name_that_resolves_to_a_private_address_is_refused(served: Site) -> None:
    fetcher = loopback(allowlist=("localhost",), allow_private=False)
    error = refusal(fetcher, served.url("/issuers/acme/did.json", host="localhost"))
    assert error.code == REFUSED
    assert "'localhost' resolves to" in error.message
    assert "loopback address" in error.message
    assert served.seen == []


def test_a_resolver_answer_with_any_private_address_is_refused() -> None:
    policy = RemotePolicy(allowlist=("issuer.example",))
    fetcher = RemoteFetcher(policy, resolve=lambda host, port: ["93.184.215.14", "10.1.2.3"])
    error = refusal(fetcher, "https://issuer.example/.well-known/did.json")
    assert error.code == REFUSED
    assert "10.1.2.3, a private address" in error.message


def test_plain_http_is_refused_when_only_https_is_allowed(served: Site) -> None:
    error = refusal(loopback(https_only=True), served.url("/issuers/acme/did.json"))
    assert error.code == REFUSED
    assert "only https" in error.message
    assert served.seen == []


def test_a_url_carrying_credentials_is_refused(served: Site) -> None:
    url = f"http://user:pw@127.0.0.1:{served.port}/issuers/acme/did.json"
    assert refusal(loopback(), url).code == REFUSED
    assert served.seen == []


def test_a_policy_allow_list_given_as_one_string_is_rejected() -> None:
    with pytest.raises(Invalid, match="not one string"):
        RemotePolicy(allowlist="issuer.example")  # type: ignore[arg-type]


def test_wildcards_match_names_below_the_domain_only() -> None:
    allowlist = ("*.example.org", "Issuer.Example.")
    assert host_allowed("a.example.org", allowlist)
    assert host_allowed("deep.a.example.org", allowlist)
    assert host_allowed("issuer.example", allowlist)
    assert not host_allowed("example.org", allowlist)
    assert not host_allowed("evilexample.org", allowlist)
    assert not host_allowed("example.org.evil.test", allowlist)
    assert not host_allowed("anything", ("*",))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not a bind
        ("::", "unspecified"),
        ("240.0.0.1", "private"),
        ("100.64.0.1", "non-global"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::", "loopback"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    found = address_refusal(address)
    assert found is not None
    assert reason in found


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(address) is None


# -- limits, errors and redirects against the server -------------------------------------


def test_the_connection_goes_to_the_checked_address_not_to_a_fresh_dns_answer(
    served: Site,
) -> None:
    policy = RemotePolicy(allowlist=("pinned.test",), allow_private=True, https_only=False)
    fetcher = RemoteFetcher(policy, resolve=lambda host, port: ["127.0.0.1"])
    document = fetcher.get_json(f"http://pinned.test:{served.port}/issuers/acme/did.json")
    assert document["id"] == served.did
    assert served.seen[0].headers["host"] == f"pinned.test:{served.port}"


def test_over_https_the_pinned_connection_still_checks_the_certificate_name(
    tls_site: TlsSite,
) -> None:
    policy = RemotePolicy(allowlist=("pinned.test", "other.test"), allow_private=True)
    fetcher = RemoteFetcher(
        policy, resolve=lambda host, port: ["127.0.0.1"], ssl_context=tls_site.trust
    )
    url = f"https://pinned.test:{tls_site.port}/.well-known/did.json"
    assert fetcher.get_json(url) == {"id": "did:web:pinned.test"}
    wrong_name = f"https://other.test:{tls_site.port}/.well-known/did.json"
    error = refusal(fetcher, wrong_name)
    assert error.code == UNREACHABLE
    assert "certificate" in error.message.lower()


def test_a_declared_content_length_above_the_limit_is_refused(served: Site) -> None:
    error = refusal(loopback(max_bytes=1000), served.url("/big"))
    assert error.code == REFUSED
    assert "declares 5000 bytes, above the limit of 1000 bytes" in error.message


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(served: Site) -> None:
    error = refusal(loopback(max_bytes=1000), served.url("/chunked"))
    assert error.code == REFUSED
    assert "more than the limit of 1000 bytes" in error.message


def test_a_server_slower_than_the_timeout_is_unreachable(served: Site) -> None:
    started = time.monotonic()
    error = refusal(loopback(timeout_seconds=0.5), served.url("/slow"))
    assert error.code == UNREACHABLE
    assert "within 0.5 s" in error.message
    assert time.monotonic() - started < 0.95


def test_a_port_nobody_listens_on_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert refusal(loopback(), f"http://127.0.0.1:{port}/").code == UNREACHABLE


def test_a_redirect_to_a_host_off_the_allow_list_is_refused(served: Site) -> None:
    error = refusal(loopback(), served.url("/redirect-away"))
    assert error.code == REFUSED
    assert "'elsewhere.example' is not on the remote allow-list" in error.message
    assert served.paths() == ["/redirect-away"]


def test_a_redirect_within_the_allow_list_is_followed(served: Site) -> None:
    document = loopback().get_json(served.url("/redirect-home"))
    assert document["id"] == served.did
    assert served.paths() == ["/redirect-home", "/issuers/acme/did.json"]


def test_more_than_three_redirects_are_refused(served: Site) -> None:
    error = refusal(loopback(), served.url("/loop"))
    assert error.code == REFUSED
    assert "redirects more than 3 times" in error.message
    assert len(served.seen) == MAX_REDIRECTS + 1


def test_a_body_that_is_not_json_is_a_bad_response_quoted_briefly(served: Site) -> None:
    error = refusal(loopback(), served.url("/not-json"))
    assert error.code == BAD_RESPONSE
    assert "<html><body>" in error.message
    assert SECRET not in error.message
    assert len(error.message) < 200


def test_json_that_is_not_an_object_is_a_bad_response(served: Site) -> None:
    assert refusal(loopback(), served.url("/array")).code == BAD_RESPONSE


def test_a_status_other_than_200_is_a_bad_response(served: Site) -> None:
    error = refusal(loopback(), served.url("/nowhere"))
    assert error.code == BAD_RESPONSE
    assert "HTTP 404" in error.message


# -- did:web -----------------------------------------------------------------------------


def test_a_did_web_document_is_fetched_and_its_key_resolves(served: Site) -> None:
    fetcher = loopback()
    assert fetch_did_web(served.did, fetcher, scheme="http") == served.documents["did"]
    assert served.seen[0].headers["accept"] == ACCEPT
    method = RemoteDidResolver(fetcher, scheme="http")(served.web_key.verification_method)
    assert method is not None
    assert method.public_key == KEY.public
    assert method.controller == served.did


def test_did_web_documents_are_cached_for_five_minutes(served: Site) -> None:
    clock = Clock()
    resolve = RemoteDidResolver(loopback(), scheme="http", now=clock)
    method_id = served.web_key.verification_method
    assert resolve(method_id) is not None
    clock.t += 299
    assert resolve(method_id) is not None
    assert resolve(f"{served.did}#unknown") is None
    assert len(served.seen) == 1
    clock.t += 2
    assert resolve(method_id) is not None
    assert len(served.seen) == 2


def test_a_document_that_belongs_to_another_did_is_a_bad_response(served: Site) -> None:
    impostor = did_web(f"http://127.0.0.1:{served.port}/issuers/impostor")
    with pytest.raises(RemoteError) as caught:
        fetch_did_web(impostor, loopback(), scheme="http")
    assert caught.value.code == BAD_RESPONSE
    assert RemoteDidResolver(loopback(), scheme="http")(f"{impostor}#key") is None


def test_a_did_web_off_the_allow_list_resolves_to_none(served: Site) -> None:
    resolve = RemoteDidResolver(loopback(allowlist=("issuer.example",)), scheme="http")
    assert resolve(served.web_key.verification_method) is None
    assert served.seen == []


def test_did_key_resolves_locally_without_a_request(served: Site) -> None:
    method = RemoteDidResolver(loopback(), scheme="http")(KEY.verification_method)
    assert method is not None
    assert method.public_key == KEY.public
    assert served.seen == []


# -- remote status lists -----------------------------------------------------------------


def remote_lists(clock: Clock | None = None) -> RemoteStatusLists:
    fetcher = loopback()
    options = VerifyOptions(now=NOW, resolve=RemoteDidResolver(fetcher, scheme="http"))
    return RemoteStatusLists(fetcher, options, now=clock or Clock())


def test_a_remote_status_list_is_verified_read_and_cached(served: Site) -> None:
    lists = remote_lists()
    url = served.url("/status/revocation")
    found = lists(url, NOW)
    assert found is not None
    assert status_list.get_status(found.bits, INDEX) == 1
    assert status_list.get_status(found.bits, INDEX + 1) == 0
    assert found.purposes == frozenset({"revocation"})
    assert found.issuer == served.did
    assert sorted(served.paths()) == ["/issuers/acme/did.json", "/status/revocation"]
    served.seen.clear()
    assert lists(url, NOW) == found
    assert served.seen == []


def test_a_status_list_signed_by_the_wrong_key_is_unavailable(served: Site) -> None:
    assert remote_lists()(served.url("/status/forged"), NOW) is None


def test_a_status_list_served_under_another_url_is_unavailable(served: Site) -> None:
    assert remote_lists()(served.url("/status/copy"), NOW) is None


def test_a_status_list_that_cannot_be_fetched_is_unavailable(served: Site) -> None:
    assert remote_lists()(served.url("/nowhere"), NOW) is None


def test_a_status_list_is_cached_for_its_own_ttl(served: Site) -> None:
    clock = Clock()
    lists = remote_lists(clock)
    url = served.url("/status/short-ttl")
    assert lists(url, NOW) is not None
    clock.t += 0.5
    assert lists(url, NOW) is not None
    assert served.paths().count("/status/short-ttl") == 1
    clock.t += 1
    assert lists(url, NOW) is not None
    assert served.paths().count("/status/short-ttl") == 2


def test_a_credential_on_a_remote_list_verifies_as_revoked(served: Site) -> None:
    credential = sign(
        {
            "@context": [VC_V2],
            "id": "urn:uuid:0b7e3c4a-0000-4000-8000-000000000001",
            "type": ["VerifiableCredential"],
            "issuer": served.did,
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:learner"},
            "credentialStatus": {
                "id": f"{served.url('/status/revocation')}#{INDEX}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": str(INDEX),
                "statusListCredential": served.url("/status/revocation"),
            },
        },
        served.web_key,
        created=SIGNED,
    )
    fetcher = loopback()
    resolve = RemoteDidResolver(fetcher, scheme="http")
    base = VerifyOptions(now=NOW, resolve=resolve)
    options = VerifyOptions(now=NOW, resolve=resolve, status=RemoteStatusLists(fetcher, base))
    result = verify(credential, options)
    assert [c.code for c in result.failed()] == ["status.revoked"]
