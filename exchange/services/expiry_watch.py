"""Telling each participant, once, that one of its certificates is about to expire (a `certificateExpiry` frame)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from exchange.domain.certificates import Certificate
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.kernel.clock import Clock
from exchange.kernel.errors import ConcurrencyError

log = structlog.get_logger(__name__)

_ISSUED = (topic_of(Certificate, "Issued"),)
_PAGE = 10_000


class ExpiryWatch:
    """Records `ExpiryWarned` for each certificate that enters the warning window while active.

    A certificate's notAfter never changes, so the watch reads each issue once and keeps only the dates of those
    not yet warned: a run costs a comparison per certificate, not a read of the store.
    """

    def __init__(self, ledger: Ledger, committer: GroupCommit, clock: Clock, window: timedelta) -> None:
        self._ledger = ledger
        self._committer = committer
        self._clock = clock
        self._window = window
        self._waiting: dict[UUID, datetime] = {}
        self._read_up_to = 0

    async def run_once(self) -> int:
        """Warn what is due now; how many certificates were warned."""
        await self._read_new_certificates()
        now = self._clock.now()
        due = [cid for cid, not_after in self._waiting.items() if not_after - now <= self._window]
        warned = 0
        for certificate_id in due:
            del self._waiting[certificate_id]
            certificate = await asyncio.to_thread(self._ledger.find, Certificate, certificate_id)
            if certificate is None or certificate.expiry_warned_at is not None:
                continue
            if certificate.status(now) != "active":
                continue  # revoked, or already expired: there is nothing left to renew in time
            certificate.warn_expiry(warned_at=now)
            try:
                await self._committer.save(certificate)
            except ConcurrencyError:
                continue  # changed a moment ago (revoked, or warned by another process)
            warned += 1
            log.info("certificate_expiry_warned", participantId=certificate.participant_id,
                     serialNumber=certificate.serial_number)  # fmt: skip
        return warned

    async def _read_new_certificates(self) -> None:
        while True:
            issued = await asyncio.to_thread(self._ledger.notifications, self._read_up_to, _PAGE, _ISSUED)
            for notification in issued:
                event = self._ledger.decode(notification)
                self._waiting[event.originator_id] = event.not_after
                self._read_up_to = notification.id
            if len(issued) < _PAGE:
                return
