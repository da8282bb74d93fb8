"""The only outbound network code of credstack: did:web documents and remote status lists.

Everything else is offline (docs/architecture.md, convention 3). A request leaves only when
the :class:`RemotePolicy` allows it, and every hop of it is checked the same way:

1. the URL is ``https`` (``http`` only when the policy says so) and carries no credentials;
2. its host is on the allow-list (before any DNS lookup, so a refused host is never resolved);
3. the host is resolved once with :func:`socket.getaddrinfo`, and every address it resolves
   to must be public (not private, loopback, link-local, multicast, reserved, unspecified or
   otherwise not globally routable, IPv4 and IPv6 alike, including IPv4 inside IPv4-mapped,
   NAT64 and 6to4 IPv6 addresses) unless the policy allows private targets;
4. the connection is made to those checked addresses and nowhere else: a pinned httpcore
   network backend ignores DNS entirely, so a host whose DNS answer changes between the check
   and the connect (DNS rebinding) cannot redirect it. TLS still verifies the certificate
   against the host name in the URL (SNI and hostname check use the URL's host);
5. redirects are not followed by httpx; up to :data:`MAX_REDIRECTS` are followed here, each
   new URL going through steps 1-4 again;
6. the body is streamed and abandoned past ``max_bytes`` (a larger Content-Length is refused
   before reading), and each hop must finish within ``timeout_seconds`` (httpx applies the
   same figure to connecting and to each read).

Environment proxies and ``.netrc`` are ignored (``trust_env=False``): a proxy would make the
address checks meaningless. Known limit: :func:`socket.getaddrinfo` itself has no timeout,
so a slow resolver can hold a lookup longer than ``timeout_seconds``.

Errors: a refusal by the policy is ``remote.refused``; a network failure or timeout is
``remote.unreachable``; a response that is not HTTP 200 with a JSON object is
``remote.bad_response``. All are :class:`RemoteError` (an :class:`Invalid`). Messages quote
at most :data:`SNIPPET_CHARS` characters of a response body.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpcore
import httpx

from credstack.crypto.did import (
    DidResolver,
    VerificationMethod,
    did_web_url,
    methods_from_document,
)
from credstack.domain.credentials import credential_types
from credstack.domain.errors import CredstackError, Invalid
from credstack.services.status import StatusList
from credstack.services.status_lists import to_status_list
from credstack.services.verifying import (
    VerifyOptions,
    data_integrity,
    issuer_check,
    validity_check,
)

REFUSED = "remote.refused"
UNREACHABLE = "remote.unreachable"
BAD_RESPONSE = "remote.bad_response"
MAX_REDIRECTS = 3
DEFAULT_TTL_SECONDS = 300.0
MAX_CACHE_ENTRIES = 1024
SNIPPET_CHARS = 80
ACCEPT = "application/json, application/ld+json"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"https": 443, "http": 80}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

AddressResolver = Callable[[str, int], list[str]]
"""``(host, port) -> IP addresses``; :func:`system_resolve` unless a test pins names."""


class RemoteError(Invalid):
    """A remote lookup was refused by the policy, failed, or got an unusable answer."""

    code = "remote.error"


def _refused(message: str) -> RemoteError:
    return RemoteError(message, code=REFUSED)


def _unreachable(message: str) -> RemoteError:
    return RemoteError(message, code=UNREACHABLE)


def _bad_response(message: str) -> RemoteError:
    return RemoteError(message, code=BAD_RESPONSE)


# -- policy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemotePolicy:
    """Where remote lookups may go and how much they may cost.

    ``allowlist`` holds host names, exact (``example.org``) or wildcard (``*.example.org``,
    which matches any name below ``example.org`` but not ``example.org`` itself); IDNs are
    written in their ``xn--`` form. An empty allow-list allows nothing. ``allow_private``
    and ``https_only=False`` exist for tests against a server on loopback.
    """

    allowlist: tuple[str, ...]
    timeout_seconds: float = 5.0
    max_bytes: int = 2_000_000
    allow_private: bool = False
    https_only: bool = True

    def __post_init__(self) -> None:
        given: object = self.allowlist  # settings may hand over a list or, by mistake, a str
        if isinstance(given, str):
            raise Invalid("the remote allow-list is a tuple of host names, not one string")
        object.__setattr__(self, "allowlist", tuple(self.allowlist))
        if self.timeout_seconds <= 0:
            raise Invalid(f"the remote timeout must be positive, not {self.timeout_seconds}")
        if self.max_bytes <= 0:
            raise Invalid(f"the remote size limit must be positive, not {self.max_bytes}")

    def allows_host(self, host: str) -> bool:
        return host_allowed(host, self.allowlist)


def _normal_host(host: str) -> str:
    return host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_allowed(host: str, allowlist: Iterable[str]) -> bool:
    """Whether ``host`` matches an entry of ``allowlist`` (exact, or ``*.`` wildcard)."""
    name = _normal_host(host)
    if not name:
        return False
    for entry in allowlist:
        pattern = _normal_host(entry)
        if pattern.startswith("*."):
            suffix = pattern[1:]
            if not _is_ip(name) and name.endswith(suffix) and len(name) > len(suffix):
                return True
        elif pattern and name == pattern:
            return True
    return False


def _judged(ip: _Address) -> list[_Address]:
    """The addresses that decide whether ``ip`` is public (embedded IPv4 included)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return [ip]
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    embedded: list[_Address] = [ip.sixtofour] if ip.sixtofour is not None else []
    if ip.teredo is not None:
        embedded.extend(ip.teredo)
    return [ip, *embedded]


def address_refusal(address: str) -> str | None:
    """Why ``address`` may not be contacted, or None when it is a public address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    for candidate in _judged(ip):
        for reason, flagged in (
            ("an unspecified", candidate.is_unspecified),
            ("a loopback", candidate.is_loopback),
            ("a link-local", candidate.is_link_local),
            ("a multicast", candidate.is_multicast),
            ("a private", candidate.is_private),
            ("a reserved", candidate.is_reserved),
            ("a non-global", not candidate.is_global),
        ):
            if flagged:
                return f"{reason} address"
    return None


def system_resolve(host: str, port: int) -> list[str]:
    """Every TCP address of ``host`` from the system resolver, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = str(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
    return addresses


# -- pinned transport --------------------------------------------------------------------


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the addresses that were checked, never to a fresh DNS answer."""

    def __init__(self, host: str, addresses: tuple[str, ...]) -> None:
        self._host = host
        self._addresses = addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host != self._host:
            raise httpcore.ConnectError(f"{host!r} was not checked against the remote policy")
        failure: Exception = httpcore.ConnectError(f"{host!r} has no checked address")
        for address in self._addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure


class _PinnedTransport(httpx.HTTPTransport):
    """An HTTPTransport whose httpcore pool uses :class:`_PinnedBackend`.

    httpx 0.28 keeps its pool in ``_pool`` and offers no ``network_backend`` argument; the
    pool is replaced with one that differs only in the backend (httpx is pinned exactly).
    """

    def __init__(self, host: str, addresses: tuple[str, ...], ssl_context: ssl.SSLContext):
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=1,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_PinnedBackend(host, addresses),
        )


# -- fetcher -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL
    host: str
    addresses: tuple[str, ...]


class RemoteFetcher:
    """Fetches JSON objects from URLs the :class:`RemotePolicy` allows (see module doc).

    ``resolve`` turns a host into addresses (default :func:`system_resolve`); whatever it
    returns is checked and then connected to, which is what pins the connection.
    """

    def __init__(
        self,
        policy: RemotePolicy,
        *,
        resolve: AddressResolver = system_resolve,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self._resolve = resolve
        self._ssl_context = ssl_context

    def get_json(self, url: str) -> dict[str, Any]:
        """The JSON object at ``url`` (raises :class:`RemoteError`)."""
        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise _refused(f"{url!r} is not a valid URL, so it will not be fetched") from exc
        for _ in range(MAX_REDIRECTS + 1):
            target = self._check(current)
            outcome = self._get(target)
            if isinstance(outcome, dict):
                return outcome
            current = outcome
        raise _refused(f"{url} redirects more than {MAX_REDIRECTS} times; not following")

    def _check(self, url: httpx.URL) -> _Target:
        """Apply the policy to one hop; returns the addresses it may connect to."""
        scheme = url.scheme
        allowed = ("https",) if self.policy.https_only else ("https", "http")
        if scheme not in allowed:
            raise _refused(
                f"{url} uses {scheme or 'no scheme'}; only {' or '.join(allowed)} may be fetched"
            )
        if url.userinfo:
            raise _refused(f"the URL for host {url.host!r} carries credentials; refusing it")
        host = url.raw_host.decode("ascii")
        if not host:
            raise _refused(f"{url} names no host")
        if not self.policy.allows_host(host):
            raise _refused(f"host {host!r} is not on the remote allow-list")
        port = url.port or _DEFAULT_PORTS[scheme]
        try:
            addresses = tuple(self._resolve(host, port))
        except (OSError, UnicodeError) as exc:
            raise _unreachable(f"host {host!r} cannot be resolved: {exc}") from exc
        if not addresses:
            raise _unreachable(f"host {host!r} resolves to no address")
        if not self.policy.allow_private:
            for address in addresses:
                reason = address_refusal(address)
                if reason is not None:
                    raise _refused(
                        f"host {host!r} resolves to {address}, {reason}; "
                        "only public addresses may be contacted"
                    )
        return _Target(url, host, addresses)

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(trust_env=False)
        return self._ssl_context

    def _get(self, target: _Target) -> dict[str, Any] | httpx.URL:
        seconds = self.policy.timeout_seconds
        transport = _PinnedTransport(target.host, target.addresses, self._context())
        headers = {"Accept": ACCEPT, "Accept-Encoding": "identity"}
        deadline = time.monotonic() + seconds
        try:
            with (
                httpx.Client(
                    transport=transport,
                    timeout=httpx.Timeout(seconds),
                    follow_redirects=False,
                    trust_env=False,
                ) as client,
                client.stream("GET", target.url, headers=headers) as response,
            ):
                return self._read(target, response, deadline)
        except httpx.TimeoutException as exc:
            raise _unreachable(f"host {target.host!r} did not answer within {seconds} s") from exc
        except httpx.DecodingError as exc:
            raise _bad_response(f"{target.url} sent a body that does not decode: {exc}") from exc
        except httpx.HTTPError as exc:
            raise _unreachable(f"host {target.host!r} cannot be reached: {exc}") from exc

    def _read(
        self, target: _Target, response: httpx.Response, deadline: float
    ) -> dict[str, Any] | httpx.URL:
        url, status = target.url, response.status_code
        if status in _REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise _bad_response(f"{url} answered HTTP {status} without a Location")
            try:
                return url.join(location)
            except httpx.InvalidURL as exc:
                raise _bad_response(f"{url} redirects to an invalid URL") from exc
        if status != 200:
            raise _bad_response(f"{url} answered HTTP {status}, not 200")
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise _bad_response(f"{url} sent an invalid Content-Length")
            if int(declared) > limit:
                raise _refused(
                    f"{url} declares {int(declared)} bytes, above the limit of {limit} bytes"
                )
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise _refused(f"{url} sent more than the limit of {limit} bytes; stopped")
            if time.monotonic() > deadline:
                raise _unreachable(
                    f"host {target.host!r} did not finish within {self.policy.timeout_seconds} s"
                )
        return _json_object(url, bytes(body))


def _json_object(url: httpx.URL, body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        snippet = body[:SNIPPET_CHARS].decode("utf-8", errors="replace")
        raise _bad_response(f"{url} did not send JSON (it starts {snippet!r})") from exc
    if not isinstance(value, dict):
        raise _bad_response(f"{url} sent JSON that is not an object")
    return value


# -- a small TTL cache -------------------------------------------------------------------

V = TypeVar("V")


class _TtlCache(Generic[V]):
    """Values that expire on a monotonic clock; holds at most ``size`` entries."""

    def __init__(self, now: Callable[[], float], size: int = MAX_CACHE_ENTRIES) -> None:
        self._now = now
        self._size = size
        self._entries: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._now():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: str, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        with self._lock:
            now = self._now()
            if len(self._entries) >= self._size:
                for stale in [k for k, (expires, _) in self._entries.items() if expires <= now]:
                    del self._entries[stale]
                while len(self._entries) >= self._size:
                    del self._entries[next(iter(self._entries))]
            self._entries[key] = (now + ttl, value)


# -- did:web -----------------------------------------------------------------------------


def did_web_document_url(did: str, *, scheme: str = "https") -> str:
    """:func:`did_web_url` with another scheme (``http`` only for tests on loopback)."""
    url = did_web_url(did)
    return url if scheme == "https" else f"{scheme}://{url.removeprefix('https://')}"


def fetch_did_web(did: str, fetcher: RemoteFetcher, *, scheme: str = "https") -> dict[str, Any]:
    """The DID document of a did:web, fetched and checked to be the document of ``did``.

    https://w3c-ccg.github.io/did-method-web/#read-resolve
    """
    url = did_web_document_url(did, scheme=scheme)
    document = fetcher.get_json(url)
    if document.get("id") != did:
        raise _bad_response(
            f"{url} holds the document of {str(document.get('id'))[:100]!r}, not of {did}"
        )
    return document


class RemoteDidResolver:
    """Resolves verification methods: did:key locally, did:web through a fetcher.

    did:web documents are cached for ``ttl`` seconds on the ``now`` clock. A method that
    cannot be fetched or is not in its document resolves to None (verification then
    reports the proof as unresolvable; it never raises).
    """

    def __init__(
        self,
        fetcher: RemoteFetcher,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        now: Callable[[], float] = time.monotonic,
        scheme: str = "https",
        local: DidResolver | None = None,
    ) -> None:
        self._fetcher = fetcher
        self._ttl = ttl
        self._scheme = scheme
        self._local = local or DidResolver()
        self._documents: _TtlCache[list[VerificationMethod]] = _TtlCache(now)

    def __call__(self, method_id: str) -> VerificationMethod | None:
        if not method_id.startswith("did:web:"):
            return self._local(method_id)
        did = method_id.partition("#")[0]
        methods = self._documents.get(did)
        if methods is None:
            try:
                methods = methods_from_document(
                    fetch_did_web(did, self._fetcher, scheme=self._scheme)
                )
            except CredstackError:
                return None
            self._documents.put(did, methods, self._ttl)
        return next((m for m in methods if m.id == method_id), None)


# -- remote status lists -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _VerifiedList:
    document: Mapping[str, Any]
    status: StatusList


class RemoteStatusLists:
    """A StatusResolver over BitstringStatusListCredentials fetched from their URLs.

    Each list is checked like :class:`credstack.services.status_lists.LocalStatusLists`
    (Data Integrity proof, issuer bound to the signing key, validity window), and its ``id``
    must be the URL it was fetched from. A verified list is cached per URL for its ``ttl``
    (milliseconds, https://www.w3.org/TR/vc-bitstring-status-list/#bitstringstatuslist) or
    ``default_ttl`` seconds; its validity window is re-checked on every use. A list that
    cannot be fetched or verified gives None (``status.unresolved``). The issuer's key is
    found with ``options.resolve``: pass a :class:`RemoteDidResolver` for did:web issuers.
    """

    def __init__(
        self,
        fetcher: RemoteFetcher,
        options: VerifyOptions,
        *,
        default_ttl: float = DEFAULT_TTL_SECONDS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self._options = options
        self._default_ttl = default_ttl
        self._lists: _TtlCache[_VerifiedList] = _TtlCache(now)

    def __call__(self, url: str, now: datetime) -> StatusList | None:
        found = self._lists.get(url)
        if found is None:
            found = self._fetch(url, now)
            if found is None:
                return None
            self._lists.put(url, found, self._ttl_of(found.document))
        if not validity_check(found.document, now, self._options.skew).ok:
            return None
        return found.status

    def _fetch(self, url: str, now: datetime) -> _VerifiedList | None:
        try:
            doc = self._fetcher.get_json(url)
        except RemoteError:
            return None
        if doc.get("id") != url or "BitstringStatusListCredential" not in credential_types(doc):
            return None
        proof, method = data_integrity(doc, self._options)
        if not proof.ok or method is None or not issuer_check(doc, method).ok:
            return None
        if not validity_check(doc, now, self._options.skew).ok:
            return None
        status = to_status_list(doc)
        return None if status is None else _VerifiedList(doc, status)

    def _ttl_of(self, doc: Mapping[str, Any]) -> float:
        subject = doc.get("credentialSubject")
        ttl = subject.get("ttl") if isinstance(subject, Mapping) else None
        if isinstance(ttl, int | float) and not isinstance(ttl, bool) and ttl > 0:
            return float(ttl) / 1000
        return self._default_ttl
