"""Participants' certificates: issued from CSRs by the exchange CA, nominated for signing, renewed, reissued,
revoked, and watched for expiry.

Decisions of our own:
- Renew needs an active certificate within 90 days of its notAfter (else 409); the new certificate gets a full
  lifetime. Reissue (a new key for the same term, e.g. after a compromise) keeps the old notAfter, so it can never
  dodge the renewal window; an active or revoked certificate can be reissued, an expired one cannot (409).
- Revoking a nominated certificate keeps the nomination (nominations change only by PUT), and every signature by
  it is refused from the next submission on; the status endpoint warns about it. Revoking a revoked certificate
  answers 200 with it unchanged (the first reason stays).
- Certificates of other participants are 404 everywhere, so their existence is not revealed.
- The CRL lists every revoked certificate, expired ones included. It is made anew on a revocation (by this or any
  process sharing the event store), and when a day old; `nextUpdate` is two days out (certs.crl).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certs.authority import CertificateAuthority
from certs.chain import serial_hex
from certs.crl import RevokedEntry
from certs.errors import CsrRejectedError
from exchange.domain.certificates import Certificate
from exchange.domain.participants import Participant
from exchange.eventstore.directory import Directory
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.errors import FieldError
from exchange.kernel.clock import Clock, iso
from exchange.kernel.errors import ConcurrencyError, ConflictError, InvalidError, MalformedError, NotFoundError
from exchange.kernel.paging import CursorError, Page, decode_cursor, encode_cursor
from exchange.services.participants import registered_participant

RENEWAL_WINDOW = timedelta(days=90)
# A CRL this old is made anew even when nothing was revoked since (housekeeping asks for it regularly).
CRL_REFRESH = timedelta(days=1)
MAX_REASON_LENGTH = 1000
_SERIAL = re.compile(r"^[0-9a-fA-F]{1,64}$")
_ATTEMPTS = 5  # concurrent changes of one participant conflict on its version; each retry reads afresh

T = TypeVar("T")


@dataclass(frozen=True)
class CertificateView:
    serial_number: str
    certificate: str
    chain: str
    not_before: str
    not_after: str
    status: str
    nomination: str | None
    expires_soon: bool
    revoked_date_time: str | None
    revocation_reason: str | None
    renewal_of: str | None
    reissue_of: str | None
    successors: list[str]


@dataclass(frozen=True)
class CertificateWarning:
    """A certificate the participant should act on: it expires soon, or it is nominated but cannot sign."""

    kind: str  # "expiresSoon" | "nominatedNotActive"
    serial_number: str
    not_after: str
    days_left: int
    status: str
    nomination: str | None


@dataclass(frozen=True)
class RevocationList:
    """The CA's current CRL (DER), the revocations it lists and when it was made."""

    der: bytes
    revoked: frozenset[str]
    made_at: datetime
    number: int


@dataclass(frozen=True)
class PublishedHub:
    ca_certificate: str
    hub_certificate: str
    previous_hub_certificates: list[str]


@dataclass(eq=False)
class Certificates:
    ledger: Ledger
    committer: GroupCommit
    authority: CertificateAuthority
    clock: Clock
    lifetime_days: int = 1095
    expiry_warning_days: int = 30
    # The standing-data cache the CRL is made from: the composition root's shared one, else one of its own.
    directory: Directory | None = None

    def __post_init__(self) -> None:
        self._directory = self.directory or Directory(self.ledger)
        self._crl: RevocationList | None = None
        self._crl_lock = asyncio.Lock()

    @property
    def _expiry_warning(self) -> timedelta:
        return timedelta(days=self.expiry_warning_days)

    async def issue(self, participant_id: str, csr_pem: str) -> CertificateView:
        async def attempt() -> CertificateView:
            participant = await registered_participant(self.ledger, participant_id)
            now = self.clock.now()
            certificate = await self._new_certificate(participant_id, csr_pem, now)
            participant.add_certificate(certificate.serial_number)
            await self.committer.save(certificate, participant)
            return self._view(certificate, participant, now)

        return await _retrying(attempt)

    async def renew(self, participant_id: str, serial_number: str, csr_pem: str) -> CertificateView:
        """A new certificate with a full lifetime, for an active one within 90 days of its expiry."""

        async def renewal(old: Certificate, now: datetime) -> Certificate:
            status = old.status(now)
            if status != "active":
                raise ConflictError(f"certificate {old.serial_number} is {status}; only an active one can be renewed")
            opens = old.not_after - RENEWAL_WINDOW
            if now < opens:
                raise ConflictError(
                    f"certificate {old.serial_number} expires at {iso(old.not_after)}; it can be renewed only "
                    f"within 90 days of that, from {iso(opens)} (reissue it to change its key now)"
                )
            new = await self._new_certificate(participant_id, csr_pem, now, renewal_of=old.serial_number)
            old.record_renewal(new.serial_number, now)
            return new

        return await self._replace(participant_id, serial_number, renewal)

    async def reissue(self, participant_id: str, serial_number: str, csr_pem: str) -> CertificateView:
        """A new certificate (normally a new key) for the remaining term of an active or revoked one."""

        async def reissued(old: Certificate, now: datetime) -> Certificate:
            if now > old.not_after:
                raise ConflictError(
                    f"certificate {old.serial_number} expired at {iso(old.not_after)}; there is no term left to "
                    "reissue: POST /certs/v1/certificates for a new one"
                )
            new = await self._new_certificate(
                participant_id, csr_pem, now, reissue_of=old.serial_number, not_after=old.not_after
            )
            old.record_reissue(new.serial_number, now)
            return new

        return await self._replace(participant_id, serial_number, reissued)

    async def _replace(
        self,
        participant_id: str,
        serial_number: str,
        successor: Callable[[Certificate, datetime], Awaitable[Certificate]],
    ) -> CertificateView:
        """Commit the certificate `successor` makes of an old one (it checks the old and records its replacement),
        adding it to the participant's; a race with another change reads both again and retries."""

        async def attempt() -> CertificateView:
            participant = await registered_participant(self.ledger, participant_id)
            old = await self._certificate(participant_id, serial_number)
            now = self.clock.now()
            new = await successor(old, now)
            participant.add_certificate(new.serial_number)
            await self.committer.save(new, old, participant)
            return self._view(new, participant, now)

        return await _retrying(attempt)

    async def revoke(self, participant_id: str, serial_number: str, reason: str) -> CertificateView:
        """Revoke for good; signatures by it are refused from the next submission on."""
        reason = reason.strip()
        if not reason:
            raise InvalidError("give a reason", errors=[FieldError("reason", "must not be empty")])
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidError(
                "the reason is too long", errors=[FieldError("reason", f"at most {MAX_REASON_LENGTH} characters")]
            )

        async def attempt() -> CertificateView:
            participant = await registered_participant(self.ledger, participant_id)
            certificate = await self._certificate(participant_id, serial_number)
            now = self.clock.now()
            if certificate.revoked_at is None:
                certificate.revoke(reason, now)
                await self.committer.save(certificate)
            return self._view(certificate, participant, now)

        view = await _retrying(attempt)
        await self.revocation_list()  # the CRL lists it before the revocation is answered
        return view

    async def revocation_list(self) -> bytes:
        """The CA's current CRL in DER, made anew if a certificate was revoked since the last or it is a day old."""
        async with self._crl_lock:
            await asyncio.to_thread(self._directory.refresh)
            revoked = {c.serial_number: c.revoked_at for c in self._directory.revoked_certificates()}
            now = self.clock.now()
            current = self._crl
            if current is not None and current.revoked == frozenset(revoked) and now - current.made_at < CRL_REFRESH:
                return current.der
            # CRL numbers must grow; milliseconds since the epoch do, and survive a restart, unlike a counter.
            number = max(int(now.timestamp() * 1000), current.number + 1 if current else 0)
            entries = [RevokedEntry(int(serial, 16), at) for serial, at in revoked.items() if at is not None]
            crl = await asyncio.to_thread(self.authority.revocation_list, entries, now, number)
            self._crl = RevocationList(crl.public_bytes(Encoding.DER), frozenset(revoked), now, number)
            return self._crl.der

    async def listing(
        self, participant_id: str, item_count: int = 100, cursor: str | None = None
    ) -> Page[CertificateView]:
        """The participant's certificates, oldest first."""
        participant = await registered_participant(self.ledger, participant_id)
        try:
            start = decode_cursor(cursor, int)[0] if cursor else 0
        except CursorError as error:
            raise MalformedError(str(error)) from error
        serials = participant.certificates[start : start + item_count]
        now = self.clock.now()
        found = [await self._certificate(participant_id, serial) for serial in serials]
        end = start + len(serials)
        return Page(
            items=[self._view(c, participant, now) for c in found],
            next_cursor=encode_cursor(end) if end < len(participant.certificates) else None,
            total_records=len(participant.certificates),
        )

    async def get(self, participant_id: str, serial_number: str) -> CertificateView:
        participant = await registered_participant(self.ledger, participant_id)
        certificate = await self._certificate(participant_id, serial_number)
        return self._view(certificate, participant, self.clock.now())

    async def status(self, participant_id: str) -> list[CertificateWarning]:
        """Certificates expiring within the warning window, and nominated ones that can no longer sign."""
        participant = await registered_participant(self.ledger, participant_id)
        now = self.clock.now()
        warnings = []
        for serial in participant.certificates:
            certificate = await self._certificate(participant_id, serial)
            nomination = _nomination(participant, serial)
            status = certificate.status(now)
            if certificate.expires_within(now, self._expiry_warning):
                kind = "expiresSoon"
            elif nomination is not None and status != "active":
                kind = "nominatedNotActive"
            else:
                continue
            warnings.append(
                CertificateWarning(
                    kind=kind,
                    serial_number=serial,
                    not_after=iso(certificate.not_after),
                    days_left=_days_left(certificate.not_after, now),
                    status=status,
                    nomination=nomination,
                )
            )
        return warnings

    async def nominate(self, participant_id: str, primary: str, secondary: str | None) -> dict[str, str | None]:
        primary = _normalised(primary) or primary
        secondary = (_normalised(secondary) or secondary) if secondary is not None else None

        async def attempt() -> dict[str, str | None]:
            participant = await registered_participant(self.ledger, participant_id)
            now = self.clock.now()
            errors = []
            for field, serial in (("primary", primary), ("secondary", secondary)):
                if serial is None:
                    continue
                certificate = await self._find(serial)
                if certificate is None or certificate.participant_id != participant_id:
                    errors.append(FieldError(field, f"{serial} is not one of your certificates"))
                elif certificate.status(now) != "active":
                    errors.append(FieldError(field, f"{serial} is {certificate.status(now)}; nominate an active one"))
            if secondary is not None and secondary == primary:
                errors.append(FieldError("secondary", "must differ from the primary"))
            if errors:
                raise InvalidError("the nomination was refused", errors=errors)
            participant.nominate(primary=primary, secondary=secondary)
            await self.committer.save(participant)
            return {"primary": primary, "secondary": secondary}

        return await _retrying(attempt)

    async def nominations(self, participant_id: str) -> dict[str, str | None]:
        participant = await registered_participant(self.ledger, participant_id)
        return {"primary": participant.primary_certificate, "secondary": participant.secondary_certificate}

    def hub(self) -> PublishedHub:
        return PublishedHub(
            ca_certificate=self.authority.ca_pem(),
            hub_certificate=self.authority.hub_pem(),
            previous_hub_certificates=self.authority.previous_hub_pems(),
        )

    async def _new_certificate(
        self,
        participant_id: str,
        csr_pem: str,
        now: datetime,
        *,
        renewal_of: str | None = None,
        reissue_of: str | None = None,
        not_after: datetime | None = None,
    ) -> Certificate:
        try:
            issued: x509.Certificate = await asyncio.to_thread(
                self.authority.issue,
                csr_pem.encode(),
                participant_id,
                now,
                self.lifetime_days,
                not_after=not_after,
            )
        except CsrRejectedError as error:
            raise InvalidError(f"the CSR was refused: {error}", errors=[FieldError("csr", str(error))]) from error
        return Certificate(
            serial_number=serial_hex(issued),
            participant_id=participant_id,
            pem=issued.public_bytes(Encoding.PEM).decode(),
            not_before=issued.not_valid_before_utc,
            not_after=issued.not_valid_after_utc,
            issued_at=now,
            renewal_of=renewal_of,
            reissue_of=reissue_of,
        )

    async def _find(self, serial: str) -> Certificate | None:
        return await asyncio.to_thread(self.ledger.find, Certificate, Certificate.create_id(serial))

    async def _certificate(self, participant_id: str, serial: str) -> Certificate:
        normalised = _normalised(serial)
        certificate = await self._find(normalised) if normalised else None
        if certificate is None or certificate.participant_id != participant_id:
            raise NotFoundError(f"certificate {serial} is not one of yours")
        return certificate

    def _view(self, certificate: Certificate, participant: Participant, now: datetime) -> CertificateView:
        return CertificateView(
            serial_number=certificate.serial_number,
            certificate=certificate.pem,
            chain=certificate.pem + self.authority.ca_pem(),
            not_before=iso(certificate.not_before),
            not_after=iso(certificate.not_after),
            status=certificate.status(now),
            nomination=_nomination(participant, certificate.serial_number),
            expires_soon=certificate.expires_within(now, self._expiry_warning),
            revoked_date_time=iso(certificate.revoked_at) if certificate.revoked_at else None,
            revocation_reason=certificate.revocation_reason,
            renewal_of=certificate.renewal_of,
            reissue_of=certificate.reissue_of,
            successors=list(certificate.successors),
        )


def _nomination(participant: Participant, serial: str) -> str | None:
    if participant.primary_certificate == serial:
        return "primary"
    if participant.secondary_certificate == serial:
        return "secondary"
    return None


def _days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until notAfter, rounded down (negative once expired)."""
    return math.floor((not_after - now) / timedelta(days=1))


def _normalised(serial: str) -> str | None:
    """The API's form of a serial number (lowercase hex, no leading zeros), or None when it is not hex."""
    if not _SERIAL.match(serial):
        return None
    return format(int(serial, 16), "x")


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    for _ in range(_ATTEMPTS - 1):
        try:
            return await attempt()
        except ConcurrencyError:
            continue
    return await attempt()
