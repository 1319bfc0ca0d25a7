"""The Certificate aggregate: status over time, renewal and reissue links, revocation, and replay of its events."""

from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from exchange.domain.certificates import Certificate

ISSUED = datetime(2026, 7, 1, tzinfo=UTC)


def _certificate(**extra: Any) -> Certificate:
    return Certificate(
        serial_number="ab12",
        participant_id="MC1",
        pem="-----BEGIN CERTIFICATE-----\n",
        not_before=ISSUED,
        not_after=ISSUED + timedelta(days=1095),
        issued_at=ISSUED,
        **extra,
    )


def _replayed(aggregate: Aggregate) -> Certificate:
    replayed: Any = None
    for domain_event in aggregate.collect_events():
        replayed = domain_event.mutate(replayed)
    assert isinstance(replayed, Certificate)
    return replayed


def test_status_is_active_within_validity_expired_outside_and_revoked_for_good():
    """Active between notBefore and notAfter, expired before or after, revoked once revoked whatever the time."""
    certificate = _certificate()
    assert certificate.status(ISSUED + timedelta(days=1)) == "active"
    assert certificate.status(ISSUED - timedelta(seconds=1)) == "expired"
    assert certificate.status(ISSUED + timedelta(days=1096)) == "expired"
    certificate.revoke("key compromise", ISSUED + timedelta(days=2))
    assert certificate.status(ISSUED + timedelta(days=1)) == "revoked"


def test_expires_within_flags_only_active_certificates_inside_the_window():
    """30 days or fewer before notAfter counts; more does not; expired or revoked never does."""
    certificate = _certificate()
    window = timedelta(days=30)
    assert not certificate.expires_within(certificate.not_after - timedelta(days=31), window)
    assert certificate.expires_within(certificate.not_after - timedelta(days=30), window)
    assert not certificate.expires_within(certificate.not_after + timedelta(seconds=1), window)
    certificate.revoke("retired", ISSUED)
    assert not certificate.expires_within(certificate.not_after - timedelta(days=1), window)


def test_renewals_and_reissues_replay_with_their_links():
    """The successor names its predecessor; the predecessor lists its successors; replay rebuilds both."""
    old = _certificate()
    old.record_renewal("cd34", ISSUED + timedelta(days=1000))
    old.record_reissue("ef56", ISSUED + timedelta(days=1001))
    old.revoke("superseded", ISSUED + timedelta(days=1002))
    replayed = _replayed(old)
    assert replayed.successors == ["cd34", "ef56"]
    assert (replayed.revocation_reason, replayed.revoked_at) == ("superseded", ISSUED + timedelta(days=1002))
    renewed = _replayed(_certificate(renewal_of="ab00"))
    assert (renewed.renewal_of, renewed.reissue_of) == ("ab00", None)


def test_an_issued_event_recorded_before_the_links_existed_still_replays():
    """Issued events stored without renewal_of and reissue_of (older data) replay with both as None."""
    new_style = _certificate().collect_events()[0]
    # The way the event store's mapper decodes a stored event: its state as found, no __init__ call.
    old_style = object.__new__(type(new_style))
    state = {k: v for k, v in new_style.__dict__.items() if k not in ("renewal_of", "reissue_of")}
    object.__setattr__(old_style, "__dict__", state)
    replayed = old_style.mutate(None)
    assert isinstance(replayed, Certificate)
    assert (replayed.renewal_of, replayed.reissue_of, replayed.successors) == (None, None, [])
