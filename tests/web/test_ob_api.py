"""The 1EdTech Open Badges 3.0 API against the live server, as a client application sees it:
discovery, dynamic registration, authorization code with PKCE (the user signs in with a
code emailed to them), tokens, and the Host's credentials and profile endpoints."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine, update

from credstack.cli.context import platform
from credstack.db.tables import OAuthGrantRow
from credstack.services import awards
from credstack.services.issuing import sign
from tests.conftest import LiveServer
from tests.web.conftest import Tenant

OB = "/ims/ob/v3p0"
SCOPE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
READ, UPSERT = f"{SCOPE}credential.readonly", f"{SCOPE}credential.upsert"
PROFILE_READ, PROFILE_UPDATE = f"{SCOPE}profile.readonly", f"{SCOPE}profile.update"
ALL = " ".join([READ, UPSERT, PROFILE_READ, PROFILE_UPDATE])
REDIRECT = "https://wallet.example/oauth/callback"


def registration(**changes: Any) -> dict[str, Any]:
    """A registration request with every field the OB 3.0 profile of RFC 7591 requires."""
    body: dict[str, Any] = {
        "client_name": "Example Wallet",
        "client_uri": "https://wallet.example/",
        "logo_uri": "https://wallet.example/logo.png",
        "tos_uri": "https://wallet.example/terms",
        "policy_uri": "https://wallet.example/privacy",
        "software_id": "c88b6ed8-269e-448e-99be-7e2ff47167d1",
        "software_version": "v1.0.0",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": f"{ALL} offline_access",
    }
    body.update(changes)
    return body


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name!r} in the page"
    return found.group(1)


def query_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Wallet:
    """A registered client application and the browser of its user."""

    server: LiveServer
    http: httpx.Client
    capsys: pytest.CaptureFixture[str]
    client_id: str = ""
    client_secret: str = ""
    registered: dict[str, Any] = field(default_factory=dict)

    def register(self, **changes: Any) -> httpx.Response:
        response = self.http.post("/oauth/register", json=registration(**changes))
        if response.status_code == 201:
            self.registered = response.json()
            self.client_id = self.registered["client_id"]
            self.client_secret = self.registered["client_secret"]
        return response

    def params(self, scope: str, challenge: str, **changes: str) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": "state-4711",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(changes)
        return params

    def sign_in(self, params: dict[str, str], email: str) -> tuple[str, str]:
        """Open the authorize page and ask for a code: (the code page, the emailed code)."""
        page = self.http.get("/oauth/authorize", params=params)
        assert page.status_code == 200, page.text
        assert "Example Wallet" in page.text
        self.capsys.readouterr()
        sent = self.http.post(
            "/oauth/authorize",
            params=params,
            data={"csrf": hidden(page.text, "csrf"), "step": "email", "email": email},
        )
        assert sent.status_code == 200, sent.text
        codes = re.findall(r"sign-in code: (\d{8})", self.capsys.readouterr().out)
        assert codes, "no sign-in code was emailed"
        return sent.text, codes[-1]

    def consent(self, params: dict[str, str], page: str, code: str) -> httpx.Response:
        return self.http.post(
            "/oauth/authorize",
            params=params,
            data={
                "csrf": hidden(page, "csrf"),
                "step": "code",
                "login": hidden(page, "login"),
                "code": code,
                "decision": "allow",
            },
        )

    def authorize(self, email: str, scope: str = ALL) -> tuple[str, str]:
        """The whole user interaction: (authorization code, PKCE verifier)."""
        verifier, challenge = pkce()
        params = self.params(scope, challenge)
        page, code = self.sign_in(params, email)
        answer = query_of(self.consent(params, page, code))
        assert answer["state"] == "state-4711"
        assert answer["scope"] == scope
        return answer["code"], verifier

    def token(self, code: str, verifier: str, **extra: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            **extra,
        }
        return self.http.post("/oauth/token", data=form, auth=(self.client_id, self.client_secret))

    def connect(self, email: str, scope: str = ALL) -> dict[str, Any]:
        code, verifier = self.authorize(email, scope)
        response = self.token(code, verifier)
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    def api(self, access_token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        return httpx.Client(base_url=self.server.url + OB, headers=headers, timeout=30)


@pytest.fixture
def wallet(live_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> Iterator[Wallet]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        found = Wallet(live_server, http, capsys)
        assert found.register().status_code == 201
        yield found


def learner() -> str:
    return f"learner-{uuid.uuid4().hex[:10]}@example.org"


def imsx(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["imsx_codeMajor"] == "failure"
    assert body["imsx_severity"] == "error"
    assert body["imsx_description"]
    return body


def expire(engine: Engine, token: str) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    value_hash = hashlib.sha256(token.encode()).hexdigest()
    with engine.begin() as connection:
        connection.execute(
            update(OAuthGrantRow)
            .where(OAuthGrantRow.value_hash == value_hash)
            .values(expires_at=past)
        )


def test_discovery_is_open_and_describes_the_api_and_its_oauth_endpoints(
    live_server: LiveServer,
) -> None:
    response = httpx.get(f"{live_server.url}{OB}/discovery")
    assert response.status_code == 200
    sdd = response.json()
    base = live_server.url
    assert sdd["openapi"].startswith("3.0")
    assert sdd["info"]["title"]
    assert sdd["info"]["termsOfService"].startswith(base)
    assert sdd["info"]["x-imssf-privacyPolicyUrl"].startswith(base)
    assert sdd["servers"] == [{"url": f"{base}{OB}", "description": "credstack"}]
    assert {"/credentials", "/profile", "/discovery"} <= set(sdd["paths"])
    scheme = sdd["components"]["securitySchemes"]["OAuth2ACG"]
    assert scheme["type"] == "oauth2"
    assert scheme["x-imssf-registrationUrl"] == f"{base}/oauth/register"
    flow = scheme["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == f"{base}/oauth/authorize"
    assert flow["tokenUrl"] == flow["refreshUrl"] == f"{base}/oauth/token"
    assert set(ALL.split()) <= set(flow["scopes"])


def test_a_wallet_registers_connects_and_keeps_credentials_and_a_profile(
    wallet: Wallet, tenant: Tenant, live_server: LiveServer
) -> None:
    sdd = httpx.get(f"{live_server.url}{OB}/discovery").json()
    assert sdd["components"]["securitySchemes"]["OAuth2ACG"]["x-imssf-registrationUrl"]
    assert wallet.registered["client_secret_expires_at"] == 0
    assert isinstance(wallet.registered["client_id_issued_at"], int)
    assert wallet.registered["redirect_uris"] == [REDIRECT]
    assert wallet.registered["software_id"] == registration()["software_id"]

    email = learner()
    tokens = wallet.connect(email)
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == ALL
    assert tokens["refresh_token"]

    achievement = tenant.define()
    first = tenant.award(achievement["id"], recipient_email=email)["credential"]
    second = tenant.award(achievement["id"], recipient_email=email)["credential"]
    with wallet.api(tokens["access_token"]) as api:
        created = api.post("/credentials", json=first)
        assert created.status_code == 201, created.text
        assert created.json() == first
        again = api.post(
            "/credentials",
            content=json.dumps(first),
            headers={"Content-Type": "application/vc+ld+json"},
        )
        assert again.status_code == 200, again.text
        assert again.json() == first
        assert api.post("/credentials", json=second).status_code == 201

        page = api.get("/credentials", params={"limit": 1})
        assert page.status_code == 200, page.text
        assert page.headers["X-Total-Count"] == "2"
        links = page.headers["Link"]
        assert 'rel="next"' in links
        assert 'rel="first"' in links
        assert 'rel="last"' in links
        assert 'rel="prev"' not in links
        assert f'<{live_server.url}{OB}/credentials?limit=1&offset=1>; rel="next"' in links
        assert page.json() == {"credential": [first], "compactJwsString": []}

        last = api.get("/credentials", params={"limit": 1, "offset": 1})
        assert last.json()["credential"] == [second]
        assert 'rel="prev"' in last.headers["Link"]
        assert 'rel="next"' not in last.headers["Link"]
        everything = api.get("/credentials")
        assert everything.headers["X-Total-Count"] == "2"
        assert everything.json()["credential"] == [first, second]

        profile = api.get("/profile")
        assert profile.status_code == 200
        assert profile.json()["email"] == email
        mine = {
            "@context": ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
            "id": f"mailto:{email}",
            "type": ["Profile"],
            "name": "Ada Learner",
            "email": email,
        }
        put = api.put("/profile", json=mine)
        assert put.status_code == 200, put.text
        assert put.json() == mine
        assert api.get("/profile").json() == mine


def test_a_vc_jwt_is_kept_as_its_compact_jws_and_since_filters_by_issue_time(
    wallet: Wallet, tenant: Tenant, live_server: LiveServer
) -> None:
    email = learner()
    tokens = wallet.connect(email, f"{UPSERT} {READ}")
    signed = tenant.award(tenant.define()["id"], recipient_email=email)["credential"]
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    unsigned["id"] = f"urn:uuid:{uuid.uuid4()}"
    with platform(live_server.settings) as found:
        key = awards.issuer_by_slug(found, tenant.slug).key
    token = sign(unsigned, key, suite="vc-jwt", created=datetime.now(UTC))
    assert isinstance(token, str)
    with wallet.api(tokens["access_token"]) as api:
        posted = api.post("/credentials", content=token, headers={"Content-Type": "text/plain"})
        assert posted.status_code == 201, posted.text
        assert posted.text == token
        assert posted.headers["content-type"].startswith("text/plain")
        listed = api.get("/credentials").json()
        assert listed == {"credential": [], "compactJwsString": [token]}
        later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        none = api.get("/credentials", params={"since": later})
        assert none.headers["X-Total-Count"] == "0"
        assert "since=" in none.headers["Link"]
        earlier = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        assert api.get("/credentials", params={"since": earlier}).headers["X-Total-Count"] == "1"


def test_a_credential_that_does_not_verify_is_refused_with_imsx_status(
    wallet: Wallet, tenant: Tenant
) -> None:
    email = learner()
    tokens = wallet.connect(email, f"{UPSERT} {READ}")
    credential = tenant.award(tenant.define()["id"], recipient_email=email)["credential"]
    tampered = {**credential, "name": "Something I did not earn"}
    with wallet.api(tokens["access_token"]) as api:
        body = imsx(api.post("/credentials", json=tampered), 400)
        assert "proof" in body["imsx_description"]
        imsx(
            api.post("/credentials", content=b"not json", headers={"Content-Type": "text/csv"}), 415
        )
        assert api.get("/credentials").headers["X-Total-Count"] == "0"


def test_a_wrong_code_verifier_is_an_invalid_grant(wallet: Wallet) -> None:
    code, verifier = wallet.authorize(learner())
    wrong = wallet.token(code, pkce()[0])
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert wallet.token(code, verifier).status_code == 200


def test_a_code_works_once_and_its_replay_revokes_what_it_gave(wallet: Wallet) -> None:
    code, verifier = wallet.authorize(learner())
    first = wallet.token(code, verifier)
    assert first.status_code == 200
    replay = wallet.token(code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    with wallet.api(first.json()["access_token"]) as api:
        imsx(api.get("/credentials"), 401)


def test_an_expired_code_is_an_invalid_grant(wallet: Wallet, engine: Engine) -> None:
    code, verifier = wallet.authorize(learner())
    expire(engine, code)
    response = wallet.token(code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_pkce_is_mandatory_and_plain_is_refused(wallet: Wallet) -> None:
    verifier, _ = pkce()
    plain = wallet.params(ALL, verifier, code_challenge_method="plain")
    refused = wallet.http.get("/oauth/authorize", params=plain)
    answer = query_of(refused)
    assert answer["error"] == "invalid_request"
    assert answer["state"] == "state-4711"
    assert "code" not in answer
    missing = wallet.params(ALL, "")
    del missing["code_challenge"], missing["code_challenge_method"]
    assert query_of(wallet.http.get("/oauth/authorize", params=missing))["error"] == (
        "invalid_request"
    )


def test_an_unregistered_redirect_uri_is_never_redirected_to(wallet: Wallet) -> None:
    _, challenge = pkce()
    params = wallet.params(ALL, challenge, redirect_uri="https://evil.example/cb")
    response = wallet.http.get("/oauth/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_the_user_must_enter_the_emailed_code_and_can_deny(wallet: Wallet) -> None:
    _, challenge = pkce()
    params = wallet.params(ALL, challenge)
    page, code = wallet.sign_in(params, learner())
    wrong = "00000000" if code != "00000000" else "11111111"
    refused = wallet.consent(params, page, wrong)
    assert refused.status_code == 400
    assert "location" not in refused.headers
    denied = wallet.http.post(
        "/oauth/authorize",
        params=params,
        data={"csrf": hidden(page, "csrf"), "decision": "deny"},
    )
    assert query_of(denied)["error"] == "access_denied"
    forged = wallet.http.post(
        "/oauth/authorize", params=params, data={"step": "email", "email": learner()}
    )
    assert forged.status_code == 400


def test_no_token_is_401_a_missing_scope_is_403_and_bad_paging_is_400(wallet: Wallet) -> None:
    with wallet.api(None) as anonymous:
        response = anonymous.get("/credentials")
        imsx(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    tokens = wallet.connect(learner(), READ)
    with wallet.api(tokens["access_token"]) as api:
        assert api.get("/credentials").status_code == 200
        for bad in ({"limit": 0}, {"offset": -1}, {"limit": "many"}, {"since": "yesterday"}):
            body = imsx(api.get("/credentials", params=bad), 400)
            minor = body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
            assert minor == "invalid_query_parameter"
        forbidden = api.post("/credentials", json={"type": ["VerifiableCredential"]})
        body = imsx(forbidden, 403)
        assert body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == (
            "forbidden"
        )
        assert 'error="insufficient_scope"' in forbidden.headers["WWW-Authenticate"]
        imsx(api.get("/profile"), 403)


def test_an_expired_access_token_is_refused_and_a_refresh_gives_a_new_one(
    wallet: Wallet, engine: Engine
) -> None:
    tokens = wallet.connect(learner())
    expire(engine, tokens["access_token"])
    with wallet.api(tokens["access_token"]) as api:
        imsx(api.get("/credentials"), 401)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = (wallet.client_id, wallet.client_secret)
    renewed = wallet.http.post("/oauth/token", data=refresh, auth=auth)
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    with wallet.api(fresh["access_token"]) as api:
        assert api.get("/credentials").status_code == 200
    reused = wallet.http.post("/oauth/token", data=refresh, auth=auth)
    assert reused.json()["error"] == "invalid_grant"
    with wallet.api(fresh["access_token"]) as api:  # the reuse revoked the whole family
        imsx(api.get("/credentials"), 401)


def test_a_revoked_token_is_refused(wallet: Wallet) -> None:
    tokens = wallet.connect(learner())
    with wallet.api(tokens["access_token"]) as api:
        assert api.get("/profile").status_code == 200
        revoked = wallet.http.post(
            "/oauth/revoke",
            data={"token": tokens["access_token"], "token_type_hint": "access_token"},
            auth=(wallet.client_id, wallet.client_secret),
        )
        assert revoked.status_code == 200
        imsx(api.get("/profile"), 401)


def test_the_token_endpoint_wants_http_basic_client_authentication(wallet: Wallet) -> None:
    code, verifier = wallet.authorize(learner())
    posted = wallet.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": wallet.client_id,
            "client_secret": wallet.client_secret,
        },
    )
    assert posted.status_code in (400, 401)
    assert posted.json()["error"] == "invalid_client"
    wrong = wallet.http.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
        auth=(wallet.client_id, "not-the-secret"),
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"logo_uri": None}, "invalid_client_metadata"),
        ({"redirect_uris": "https://wallet.example/cb"}, "invalid_client_metadata"),
        ({"redirect_uris": ["http://wallet.example/cb"]}, "invalid_redirect_uri"),
        ({"tos_uri": "https://elsewhere.example/terms"}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "client_secret_post"}, "invalid_client_metadata"),
        ({"scope": f"{READ} https://example.org/other"}, "invalid_client_metadata"),
    ],
)
def test_registration_follows_the_ob_profile_of_rfc_7591(
    wallet: Wallet, changes: dict[str, Any], error: str
) -> None:
    body = {k: v for k, v in registration(**changes).items() if v is not None}
    response = wallet.http.post("/oauth/register", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


def test_unknown_paths_and_methods_answer_imsx_status(live_server: LiveServer) -> None:
    imsx(httpx.delete(f"{live_server.url}{OB}/credentials"), 405)
    imsx(httpx.get(f"{live_server.url}{OB}/nothing-here"), 404)
