"""A participant's client of the exchange, speaking only the public HTTP API.

It keeps its private key to itself: it makes a key and a CSR, has the exchange issue the certificate,
nominates it, and signs every body before sending it gzip-encoded.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import secrets
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from certs.signature import sign_detached

PRIORITY_LETTER = {"High": "h", "Medium": "m", "Low": "l"}


@dataclass
class Credentials:
    participant_id: str
    client_id: str
    client_secret: str


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_csr(key: rsa.RSAPrivateKey, common_name: str) -> str:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


class RetryAfterTransport(httpx.AsyncHTTPTransport):
    """Waits out a 429 as its `Retry-After` asks (a few times, when it asks at most `longest` seconds), as a
    polite participant system does; anything else goes back to the caller as it came."""

    def __init__(self, attempts: int = 4, longest: float = 65.0, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify)
        self.attempts = attempts
        self.longest = longest

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(self.attempts):
            response = await super().handle_async_request(request)
            if response.status_code != 429:
                return response
            try:
                wait = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 1.0
            if wait > self.longest:
                return response  # a daily allowance, not a per-minute window: nothing to wait out
            await response.aread()
            await response.aclose()
            await asyncio.sleep(max(wait, 0.1))
        return await super().handle_async_request(request)


def new_context_id(bf: str, resource: str, priority: str, participant_id: str) -> str:
    return f"{bf}~{resource}~{PRIORITY_LETTER[priority]}~{participant_id}~{secrets.token_hex(12)}"


@dataclass
class ParticipantClient:
    """One participant talking to one exchange."""

    base_url: str
    credentials: Credentials
    http: httpx.AsyncClient = field(init=False)
    token: str | None = None
    key: rsa.RSAPrivateKey | None = None
    certificate: x509.Certificate | None = None
    honour_retry_after: bool = False
    # The CA (PEM) of an exchange served over HTTPS with a private CA; None trusts what httpx trusts
    # (SSL_CERT_FILE, which `--ca-file` sets, or the system's).
    ca_file: str | None = None

    def __post_init__(self) -> None:
        transport = RetryAfterTransport(verify=self._verify()) if self.honour_retry_after else None
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=60.0, transport=transport, verify=self._verify())

    def _verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True

    @property
    def participant_id(self) -> str:
        return self.credentials.participant_id

    async def close(self) -> None:
        await self.http.aclose()

    async def login(self, scope: str | None = None) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
        }
        if scope is not None:
            form["scope"] = scope
        response = await self.http.post("/oauth/token", data=form)
        response.raise_for_status()
        self.token = str(response.json()["access_token"])
        return self.token

    def headers(self, **extra: str) -> dict[str, str]:
        assert self.token, "login first"
        return {"Authorization": f"Bearer {self.token}", **extra}

    async def enrol(self) -> str:
        """Key, CSR, certificate, nomination as primary; returns the certificate's serial number."""
        self.key = new_key()
        response = await self.http.post(
            "/certs/v1/certificates",
            json={"csr": make_csr(self.key, f"{self.participant_id}-signing")},
            headers=self.headers(),
        )
        response.raise_for_status()
        issued = response.json()["data"]
        self.certificate = x509.load_pem_x509_certificate(issued["certificate"].encode())
        nominated = await self.http.put(
            "/certs/v1/nominations", json={"primary": issued["serialNumber"]}, headers=self.headers()
        )
        nominated.raise_for_status()
        return str(issued["serialNumber"])

    def sign(self, body: bytes) -> str:
        assert self.key is not None and self.certificate is not None, "enrol first"
        return sign_detached(body, self.certificate, self.key)

    async def submit(
        self,
        body: bytes,
        *,
        bf: str = "pqd",
        resource: str = "bpqd",
        priority: str = "Medium",
        context_id: str | None = None,
        signature: str | None = None,
        compress: bool = True,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        context_id = context_id or new_context_id(bf, resource, priority, self.participant_id)
        headers = self.headers(
            **{
                "x-initiatingParticipantId": self.participant_id,
                "x-messageContextId": context_id,
                "x-signature": signature if signature is not None else self.sign(body),
                "Content-Type": "application/json",
            }
        )
        content = body
        if compress:
            content = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        headers.update(extra_headers or {})
        return await self.http.post(f"/{bf}/v1/{resource}", content=content, headers=headers)

    async def list_queue(self, bf: str = "pqd", resource: str = "bpqd", **params: Any) -> httpx.Response:
        return await self.http.get(f"/{bf}/v1/{resource}", params=params, headers=self.headers())

    async def fetch(
        self, context_id: str, bf: str = "pqd", resource: str = "bpqd", gzip_ok: bool = True
    ) -> httpx.Response:
        accept = {"Accept-Encoding": "gzip" if gzip_ok else "identity"}
        return await self.http.get(f"/{bf}/v1/{resource}/{context_id}", headers=self.headers(**accept))

    def acknowledge(self, context_id: str, payload: bytes) -> str:
        """The `x-signature` of a signed delete: this participant's signature over `messageContextId|payloadSha256`
        of the payload it fetched, so the sender holds proof that exactly those bytes reached it."""
        return self.sign(f"{context_id}|{hashlib.sha256(payload).hexdigest()}".encode())

    async def delete(
        self, context_id: str, bf: str = "pqd", resource: str = "bpqd", signature: str | None = None
    ) -> httpx.Response:
        """Delete from the queue; with `signature` (see `acknowledge`), a signed delete."""
        headers = self.headers(**({"x-signature": signature} if signature is not None else {}))
        return await self.http.delete(f"/{bf}/v1/{resource}/{context_id}", headers=headers)


async def operator_client(base_url: str, secret: str, ca_file: str | None = None) -> ParticipantClient:
    client = ParticipantClient(base_url, Credentials("OPERATOR", "operator", secret), ca_file=ca_file)
    await client.login()
    return client


async def register(
    operator: ParticipantClient, participant_id: str, roles: list[str], scopes: list[str]
) -> Credentials:
    """Register a participant (if new) and a client of it, through the admin API."""
    created = await operator.http.post(
        "/admin/v1/participants",
        json={"participantId": participant_id, "name": f"{participant_id} test", "roles": roles},
        headers=operator.headers(),
    )
    if created.status_code not in (201, 409):
        created.raise_for_status()
    client = await operator.http.post(
        f"/admin/v1/participants/{participant_id}/clients",
        json={"scopes": scopes},
        headers=operator.headers(),
    )
    client.raise_for_status()
    data = client.json()["data"]
    return Credentials(participant_id, data["clientId"], data["clientSecret"])
