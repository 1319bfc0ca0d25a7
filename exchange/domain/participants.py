"""Participants of the market, their API clients and their certificate nominations."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from exchange.domain import ids

# The market operator is the core's one role; every other role is brought by a business function's resources.
OPERATOR = "OPERATOR"
CORE_ROLES = frozenset({OPERATOR})


class Participant(Aggregate):
    """A registered market participant. Its roles decide what it may send and receive."""

    @staticmethod
    def create_id(participant_id: str) -> UUID:
        return ids.participant_id(participant_id)

    @event("Registered")
    def __init__(self, participant_id: str, name: str, roles: list[str]) -> None:
        self.participant_id = participant_id
        self.name = name
        self.roles = roles
        self.primary_certificate: str | None = None
        self.secondary_certificate: str | None = None
        self.certificates: list[str] = []
        self.suspended = False
        self.suspension_reason: str | None = None

    @event("CertificateAdded")
    def add_certificate(self, serial_number: str) -> None:
        self.certificates.append(serial_number)

    @event("CertificatesNominated")
    def nominate(self, primary: str, secondary: str | None) -> None:
        self.primary_certificate = primary
        self.secondary_certificate = secondary

    @event("Suspended")
    def suspend(self, reason: str) -> None:
        """Stop the participant's calls and refuse messages to it; what is already queued for it stays."""
        self.suspended = True
        self.suspension_reason = reason

    @event("Reinstated")
    def reinstate(self, reason: str) -> None:
        self.suspended = False
        self.suspension_reason = None

    @property
    def nominated(self) -> frozenset[str]:
        return frozenset(s for s in (self.primary_certificate, self.secondary_certificate) if s)


class Client(Aggregate):
    """OAuth client credentials of a participant; `scopes` are the URM entities it holds."""

    @staticmethod
    def create_id(client_id: str) -> UUID:
        return ids.client_id(client_id)

    @event("Registered")
    def __init__(self, client_id: str, participant_id: str, secret_hash: str, scopes: list[str]) -> None:
        self.client_id = client_id
        self.participant_id = participant_id
        self.secret_hash = secret_hash
        self.scopes = scopes
        self.revoked = False

    @event("ScopesGranted")
    def grant(self, scopes: list[str]) -> None:
        """Add entities the client does not hold yet (e.g. the entity of a business function added later)."""
        self.scopes = [*self.scopes, *(scope for scope in scopes if scope not in self.scopes)]

    @event("SecretRotated")
    def rotate_secret(self, secret_hash: str) -> None:
        """A new secret; the old one stops working. Tokens already issued stay valid until they expire."""
        self.secret_hash = secret_hash

    @event("Revoked")
    def revoke(self) -> None:
        """No new token, and the tokens already issued are refused from now on."""
        self.revoked = True
