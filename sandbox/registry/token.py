"""The realm of the registry's bearer-token auth: an aiohttp server that checks basic credentials
and issues the JWTs that distribution's `auth: token:` accepts.

distribution 2.8 (libtrust) finds the signing key from the JWT header: an `x5c` chain that
verifies against its `rootcertbundle`. So the server signs with an EC P-256 key (ES256, raw r||s)
and sends its self-signed certificate, which is also the whole root bundle.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
from pathlib import Path
from typing import Any

from aiohttp import BasicAuth, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

SERVICE = "sandbox-registry"
ISSUER = "sandbox-token-issuer"
TOKEN_LIFETIME = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def parse_scope(scope: str) -> dict[str, Any] | None:
    """`repository:acp/core:pull,push` → a JWT access entry (everything asked for is granted)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        return None
    return {"type": kind, "name": name, "actions": actions.split(",")}


class TokenServer:
    """`GET /token?service=…&scope=…` with basic auth → `{"token", "access_token", "expires_in"}`;
    wrong credentials → 401. `issued` counts the tokens handed out (tests check the flow ran)."""

    def __init__(self, workdir: Path, *, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.service = SERVICE
        self.issuer = ISSUER
        self.root_bundle = workdir / "token-root.pem"
        self.issued = 0
        self.refused = 0
        self.scopes: list[str] = []
        """Every scope a token was asked for, in order (`repository:acp/core:pull,push`)."""
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = _self_signed(self._key)
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def realm(self) -> str:
        if not self._port:
            raise RuntimeError("token server is not started")
        return f"http://127.0.0.1:{self._port}/token"

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        self.root_bundle.parent.mkdir(parents=True, exist_ok=True)
        self.root_bundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        app = web.Application()
        app.router.add_get("/token", self._token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)  # the same port again after a stop
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def sign(self, subject: str, scopes: list[str], *, audience: str | None = None) -> str:
        """A compact JWS (ES256, `x5c` header) granting every requested scope."""
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience or self.service,
            "exp": now + TOKEN_LIFETIME,
            "nbf": now - 5,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": [entry for entry in map(parse_scope, scopes) if entry is not None],
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    async def _token(self, request: web.Request) -> web.Response:
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            auth = None
        if auth is None or not (
            secrets.compare_digest(auth.login, self.username)
            and secrets.compare_digest(auth.password, self.password)
        ):
            self.refused += 1
            return web.json_response(
                {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="sandbox-token"'},
            )
        scopes = [s for value in request.query.getall("scope", []) for s in value.split(" ") if s]
        self.scopes += scopes
        self.issued += 1
        token = self.sign(auth.login, scopes, audience=request.query.get("service"))
        return web.json_response({"token": token, "access_token": token, "expires_in": TOKEN_LIFETIME})
