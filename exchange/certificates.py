"""Participants' certificates: issued from CSRs by the exchange CA, and nominated for signing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import Encoding

from certs.authority import CertificateAuthority
from certs.chain import serial_hex
from certs.errors import CsrRejectedError
from exchange.clock import Clock, iso
from exchange.domain.certificates import Certificate
from exchange.domain.participants import Participant
from exchange.functions.errors import FieldError
from exchange.ledger import GroupCommit, Ledger
from exchange.problems import NotFoundError, UnprocessableError


@dataclass(frozen=True)
class CertificateView:
    serial_number: str
    certificate: str
    chain: str
    not_before: str
    not_after: str
    status: str
    nomination: str | None


class Certificates:
    def __init__(
        self,
        ledger: Ledger,
        committer: GroupCommit,
        authority: CertificateAuthority,
        clock: Clock,
        lifetime_days: int = 1095,
    ) -> None:
        self._ledger = ledger
        self._committer = committer
        self._authority = authority
        self._clock = clock
        self._lifetime_days = lifetime_days

    async def issue(self, participant_id: str, csr_pem: str) -> CertificateView:
        participant = await self._participant(participant_id)
        now = self._clock.now()
        try:
            issued = await asyncio.to_thread(
                self._authority.issue, csr_pem.encode(), participant_id, now, self._lifetime_days
            )
        except CsrRejectedError as error:
            raise UnprocessableError("the CSR was refused", errors=[FieldError("csr", str(error))]) from error
        certificate = Certificate(
            serial_number=serial_hex(issued),
            participant_id=participant_id,
            pem=issued.public_bytes(Encoding.PEM).decode(),
            not_before=issued.not_valid_before_utc,
            not_after=issued.not_valid_after_utc,
            issued_at=now,
        )
        participant.add_certificate(certificate.serial_number)
        await self._committer.save(certificate, participant)
        return self._view(certificate, participant)

    async def list(self, participant_id: str) -> list[CertificateView]:
        participant = await self._participant(participant_id)
        found = [await self._certificate(participant_id, serial) for serial in participant.certificates]
        return [self._view(c, participant) for c in found]

    async def get(self, participant_id: str, serial_number: str) -> CertificateView:
        participant = await self._participant(participant_id)
        return self._view(await self._certificate(participant_id, serial_number), participant)

    async def nominate(self, participant_id: str, primary: str, secondary: str | None) -> dict[str, str | None]:
        participant = await self._participant(participant_id)
        now = self._clock.now()
        errors = []
        for field, serial in (("primary", primary), ("secondary", secondary)):
            if serial is None:
                continue
            certificate = await asyncio.to_thread(self._ledger.find, Certificate, Certificate.create_id(serial))
            if certificate is None or certificate.participant_id != participant_id:
                errors.append(FieldError(field, f"{serial} is not one of your certificates"))
            elif certificate.status(now) != "active":
                errors.append(FieldError(field, f"{serial} is {certificate.status(now)}"))
        if secondary is not None and secondary == primary:
            errors.append(FieldError("secondary", "must differ from the primary"))
        if errors:
            raise UnprocessableError("the nomination was refused", errors=errors)
        participant.nominate(primary=primary, secondary=secondary)
        await self._committer.save(participant)
        return {"primary": primary, "secondary": secondary}

    async def nominations(self, participant_id: str) -> dict[str, str | None]:
        participant = await self._participant(participant_id)
        return {"primary": participant.primary_certificate, "secondary": participant.secondary_certificate}

    def hub(self) -> dict[str, str]:
        return {"caCertificate": self._authority.ca_pem(), "hubCertificate": self._authority.hub_pem()}

    async def _participant(self, participant_id: str) -> Participant:
        participant = await asyncio.to_thread(self._ledger.find, Participant, Participant.create_id(participant_id))
        if participant is None:
            raise NotFoundError(f"participant {participant_id} does not exist")
        return participant

    async def _certificate(self, participant_id: str, serial: str) -> Certificate:
        certificate = await asyncio.to_thread(self._ledger.find, Certificate, Certificate.create_id(serial))
        if certificate is None or certificate.participant_id != participant_id:
            raise NotFoundError(f"certificate {serial} is not one of yours")
        return certificate

    def _view(self, certificate: Certificate, participant: Participant) -> CertificateView:
        nomination = None
        if participant.primary_certificate == certificate.serial_number:
            nomination = "primary"
        elif participant.secondary_certificate == certificate.serial_number:
            nomination = "secondary"
        return CertificateView(
            serial_number=certificate.serial_number,
            certificate=certificate.pem,
            chain=certificate.pem + self._authority.ca_pem(),
            not_before=iso(certificate.not_before),
            not_after=iso(certificate.not_after),
            status=certificate.status(self._clock.now()),
            nomination=nomination,
        )
