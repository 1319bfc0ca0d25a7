"""Checking a participant's detached signature: the one place that decides whose signature the exchange accepts.

A submission's `x-signature` over its body and a recipient's `x-signature` over `messageContextId|payloadSha256` on
a DELETE pass the same checks: a detached CMS SignedData that verifies, by a certificate the exchange CA issued to
that participant, valid and not revoked now, and nominated as its primary or secondary.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509

from certs.authority import CertificateAuthority
from certs.chain import check_issued_by, serial_hex
from certs.errors import CertificateError
from exchange.eventstore.directory import Directory
from exchange.kernel.errors import SignatureRefusedError
from exchange.services.signature_work import SignatureWork

# How many signer certificates keep their path validation; past it the remembered ones are forgotten at once.
REMEMBERED_CHAINS = 4096


class ParticipantSignatures:
    """Verifies signatures against the exchange CA and the participants' nominated certificates."""

    def __init__(
        self, directory: Directory, authority: CertificateAuthority, work: SignatureWork | None = None
    ) -> None:
        self._directory = directory
        self._authority = authority
        self._work = work or SignatureWork(authority)
        # Signer certificates the CA was found to have issued. That never changes, so only their validity
        # periods are checked again; status (revocation) and nomination are read from the directory every time.
        self._chained: set[x509.Certificate] = set()

    def refresh(self) -> None:
        """Take in every nomination and revocation committed so far. Thread-safe; blocks on the event store."""
        self._directory.refresh()

    def verify(self, participant_id: str, signature: str, content: bytes, now: datetime) -> str:
        """The serial of `participant_id`'s nominated, active certificate that signed exactly `content`.

        Raises SignatureRefusedError for anything else. Reads standing data as the directory holds it: callers
        refresh the directory first when changes committed just before must apply.
        """
        try:
            signer = self._work.verify(signature, content)
            self._check_chain(signer, now)
        except CertificateError as error:
            raise SignatureRefusedError(str(error)) from error
        serial = serial_hex(signer)
        certificate = self._directory.certificate(serial)
        participant = self._directory.participant(participant_id)
        if certificate is None or certificate.participant_id != participant_id:
            raise SignatureRefusedError(f"certificate {serial} was not issued to {participant_id}")
        if certificate.status(now) != "active":
            raise SignatureRefusedError(f"certificate {serial} is {certificate.status(now)}")
        if participant is None or serial not in participant.nominated:
            raise SignatureRefusedError(
                f"certificate {serial} is not {participant_id}'s nominated primary or secondary"
            )
        return serial

    def _check_chain(self, signer: x509.Certificate, now: datetime) -> None:
        """check_issued_by, with the CA's signature on a certificate checked once per certificate."""
        ca = self._authority.ca_certificate
        moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        if signer in self._chained and all(
            c.not_valid_before_utc <= moment <= c.not_valid_after_utc for c in (signer, ca)
        ):
            return
        check_issued_by(signer, ca, now)
        if len(self._chained) >= REMEMBERED_CHAINS:
            self._chained.clear()
        self._chained.add(signer)
