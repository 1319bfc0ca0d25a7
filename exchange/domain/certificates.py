"""Certificates the exchange CA issued to participants."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from exchange.domain import ids


@dataclass(eq=False, repr=False)
class Certificate(Aggregate, created_event_name="Issued"):
    """A participant certificate, from issue to expiry or revocation.

    A renewal or reissue is a new Certificate whose Issued event names its predecessor (`renewal_of` or
    `reissue_of`); the predecessor records the successor with Renewed or Reissued and stays as it was otherwise:
    active until it expires or is revoked.
    """

    # The fields up to `reissue_of` are those of the stored Issued event (eventsourcing builds it from the
    # dataclass's __init__): rename none of them.
    serial_number: str
    participant_id: str
    pem: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    renewal_of: str | None = None
    reissue_of: str | None = None
    successors: list[str] = field(default_factory=list, init=False)
    revoked_at: datetime | None = field(default=None, init=False)
    revocation_reason: str | None = field(default=None, init=False)
    expiry_warned_at: datetime | None = field(default=None, init=False)

    @staticmethod
    def create_id(serial_number: str) -> UUID:
        return ids.certificate_id(serial_number)

    @event("Renewed")
    def record_renewal(self, successor: str, renewed_at: datetime) -> None:
        self.successors.append(successor)

    @event("Reissued")
    def record_reissue(self, successor: str, reissued_at: datetime) -> None:
        self.successors.append(successor)

    @event("Revoked")
    def revoke(self, reason: str, revoked_at: datetime) -> None:
        self.revoked_at = revoked_at
        self.revocation_reason = reason

    def warn_expiry(self, warned_at: datetime) -> None:
        """Tell the participant (once) that this certificate enters its last days."""
        self._expiry_warned(warned_at, (self.not_after - warned_at).days, self.participant_id, self.serial_number,
                            self.not_after)  # fmt: skip

    @event("ExpiryWarned")
    def _expiry_warned(
        self, warned_at: datetime, days_left: int, participant_id: str, serial_number: str, not_after: datetime
    ) -> None:
        # The event repeats who and which certificate, so that notifications need not load the aggregate.
        self.expiry_warned_at = warned_at

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if not self.not_before <= now <= self.not_after:
            return "expired"
        return "active"

    def expires_within(self, now: datetime, window: timedelta) -> bool:
        """Active now, but no longer than `window` from its notAfter."""
        return self.status(now) == "active" and self.not_after - now <= window
