"""The certificate lifecycle as rules: the renewal window, reissue terms, revocation, expiry and its warnings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509

from archive.projection import ArchiveProjection
from certs.crl import load_crl
from certs.participant import build_csr, new_signing_key
from exchange.kernel.errors import ConflictError, InvalidError, NotFoundError, SignatureRefusedError
from exchange.services.certificates import Certificates
from tests.unit.services.conftest import Market, Member, SettableClock

LIFETIME = timedelta(days=1095)


def csr(member: Member, name: str = "next") -> str:
    return build_csr(new_signing_key(elliptic=True), f"{member.participant_id}-{name}").decode()


def days(count: float) -> float:
    return timedelta(days=count).total_seconds()


@pytest.fixture
def certificates(market: Market) -> Certificates:
    return market.services.certificates


async def test_renewal_outside_the_90_day_window_is_a_conflict_and_issues_nothing(
    market: Market, certificates: Certificates
) -> None:
    """A fresh certificate (three years left) cannot be renewed: ConflictError saying when it can."""
    mc = await market.participant("MC", ["MC"])

    with pytest.raises(ConflictError, match="within 90 days"):
        await certificates.renew(mc.participant_id, mc.serial, csr(mc))

    assert (await certificates.listing(mc.participant_id)).total_records == 1


async def test_renewal_a_day_before_the_window_opens_is_still_a_conflict(
    market: Market, certificates: Certificates, clock: SettableClock
) -> None:
    """91 days before notAfter the window is not open yet."""
    mc = await market.participant("MC", ["MC"])
    clock.advance(days(1095 - 91))

    with pytest.raises(ConflictError):
        await certificates.renew(mc.participant_id, mc.serial, csr(mc))


async def test_renewal_inside_the_window_gives_a_full_lifetime_and_leaves_the_nomination(
    market: Market, certificates: Certificates, clock: SettableClock
) -> None:
    """60 days before expiry a renewal names its predecessor, gets a full lifetime and is not nominated."""
    mc = await market.participant("MC", ["MC"])
    clock.advance(days(1095 - 60))

    renewed = await certificates.renew(mc.participant_id, mc.serial, csr(mc))

    assert (renewed.renewal_of, renewed.nomination, renewed.status) == (mc.serial, None, "active")
    old = await certificates.get(mc.participant_id, mc.serial)
    assert (old.nomination, old.successors) == ("primary", [renewed.serial_number])
    assert mc.certificate is not None
    assert renewed.not_after > old.not_after


async def test_reissue_keeps_the_term_of_the_certificate_it_replaces(
    market: Market, certificates: Certificates
) -> None:
    """A reissued certificate has the old notAfter, so it can never dodge the renewal window."""
    mc = await market.participant("MC", ["MC"])

    reissued = await certificates.reissue(mc.participant_id, mc.serial, csr(mc))

    old = await certificates.get(mc.participant_id, mc.serial)
    assert (reissued.reissue_of, reissued.renewal_of, reissued.nomination) == (mc.serial, None, None)
    assert reissued.not_after == old.not_after
    assert (old.status, old.nomination) == ("active", "primary")


async def test_a_revoked_certificate_can_be_reissued_for_its_remaining_term(
    market: Market, certificates: Certificates
) -> None:
    """After a key compromise: revoke, then reissue gives an active certificate with the old notAfter."""
    mc = await market.participant("MC", ["MC"])
    await certificates.revoke(mc.participant_id, mc.serial, "key compromise")

    reissued = await certificates.reissue(mc.participant_id, mc.serial, csr(mc))

    old = await certificates.get(mc.participant_id, mc.serial)
    assert (reissued.status, reissued.not_after, old.status) == ("active", old.not_after, "revoked")


async def test_revoking_twice_keeps_the_first_revocation(
    market: Market, certificates: Certificates, clock: SettableClock
) -> None:
    """A repeated revoke answers with the certificate as first revoked: reason and time unchanged."""
    mc = await market.participant("MC", ["MC"])
    first = await certificates.revoke(mc.participant_id, mc.serial, "superseded")
    clock.advance(60)

    second = await certificates.revoke(mc.participant_id, mc.serial, "again")

    assert (second.revocation_reason, second.revoked_date_time) == ("superseded", first.revoked_date_time)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001])
async def test_a_revocation_needs_a_reason_of_at_most_1000_characters(
    market: Market, certificates: Certificates, reason: str
) -> None:
    """A blank or overlong reason is invalid, naming `reason`; the certificate stays active."""
    mc = await market.participant("MC", ["MC"])

    with pytest.raises(InvalidError) as refused:
        await certificates.revoke(mc.participant_id, mc.serial, reason)

    assert [e.field for e in refused.value.errors] == ["reason"]
    assert (await certificates.get(mc.participant_id, mc.serial)).status == "active"


async def test_revoking_a_nominated_certificate_keeps_the_nomination_and_warns(
    market: Market, certificates: Certificates
) -> None:
    """The nomination stays until changed, and the status lists it as nominated but not active."""
    mc = await market.participant("MC", ["MC"])

    revoked = await certificates.revoke(mc.participant_id, mc.serial, "key compromise")

    assert (revoked.status, revoked.nomination) == ("revoked", "primary")
    warnings = await certificates.status(mc.participant_id)
    assert [(w.kind, w.serial_number, w.status) for w in warnings] == [("nominatedNotActive", mc.serial, "revoked")]


async def test_certificates_within_30_days_of_expiry_are_flagged_and_warned_about(
    market: Market, certificates: Certificates, clock: SettableClock
) -> None:
    """31 days before notAfter nothing is flagged; 29 days before, expiresSoon and one warning."""
    mc = await market.participant("MC", ["MC"])
    clock.advance(days(1095 - 31))
    assert (await certificates.get(mc.participant_id, mc.serial)).expires_soon is False
    assert await certificates.status(mc.participant_id) == []

    clock.advance(days(2))

    assert (await certificates.get(mc.participant_id, mc.serial)).expires_soon is True
    [warning] = await certificates.status(mc.participant_id)
    assert (warning.kind, warning.serial_number, warning.nomination, warning.days_left) == (
        "expiresSoon",
        mc.serial,
        "primary",
        29,
    )


async def test_an_expired_certificate_is_refused_for_signing_nomination_renewal_and_reissue(
    market: Market, certificates: Certificates, clock: SettableClock
) -> None:
    """Past notAfter: expired, its signatures refused, nominating it invalid, renewal and reissue conflicts."""
    mc = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    clock.advance(days(1096))

    item = await certificates.get(mc.participant_id, mc.serial)
    assert (item.status, item.expires_soon, item.nomination) == ("expired", False, "primary")
    with pytest.raises(SignatureRefusedError, match="expired"):
        await market.submit(mc, market.body(mc, [lnsp]))
    with pytest.raises(InvalidError) as refused:
        await certificates.nominate(mc.participant_id, mc.serial, None)
    assert [e.field for e in refused.value.errors] == ["primary"]
    with pytest.raises(ConflictError):
        await certificates.renew(mc.participant_id, mc.serial, csr(mc))
    with pytest.raises(ConflictError):
        await certificates.reissue(mc.participant_id, mc.serial, csr(mc))
    assert [(w.kind, w.status) for w in await certificates.status(mc.participant_id)] == [
        ("nominatedNotActive", "expired")
    ]


async def test_another_participants_certificate_is_indistinguishable_from_a_missing_one(
    market: Market, certificates: Certificates
) -> None:
    """Reading, revoking, renewing or reissuing someone else's certificate is NotFoundError, as for no certificate."""
    mc = await market.participant("MC", ["MC"])
    other = await market.participant("MC", ["MC"])

    for serial in (other.serial, "abcdef0123456789"):
        with pytest.raises(NotFoundError):
            await certificates.get(mc.participant_id, serial)
        with pytest.raises(NotFoundError):
            await certificates.revoke(mc.participant_id, serial, "not mine")
        with pytest.raises(NotFoundError):
            await certificates.reissue(mc.participant_id, serial, csr(mc))
    assert (await certificates.get(other.participant_id, other.serial)).status == "active"


async def test_the_crl_lists_a_certificate_as_soon_as_its_revocation_is_answered(
    market: Market, certificates: Certificates
) -> None:
    mc = await market.participant("MC", ["MC"])
    other = await market.participant("MC", ["MC"])
    assert list(load_crl(await certificates.revocation_list())) == []

    await certificates.revoke(mc.participant_id, mc.serial, "key compromise")

    crl = load_crl(await certificates.revocation_list())
    assert [format(entry.serial_number, "x") for entry in crl] == [mc.serial]
    assert other.serial != mc.serial


async def test_the_crl_lists_revocations_committed_by_another_process(
    market: Market, certificates: Certificates
) -> None:
    """A revocation that reached the event store some other way still makes a new CRL when one is asked for."""
    mc = await market.participant("MC", ["MC"])
    await certificates.revocation_list()
    another_process = Certificates(
        market.services.ledger, market.services.committer, market.services.authority, market.services.clock
    )
    await another_process.revoke(mc.participant_id, mc.serial, "key compromise")

    crl = load_crl(await certificates.revocation_list())
    assert [format(entry.serial_number, "x") for entry in crl] == [mc.serial]


async def test_the_crl_is_made_anew_once_a_day_old_and_not_before(
    market: Market, certificates: Certificates, clock: SettableClock
) -> None:
    first = await certificates.revocation_list()
    clock.advance(days(0.5))
    assert await certificates.revocation_list() == first
    clock.advance(days(0.5))

    renewed = load_crl(await certificates.revocation_list())

    assert renewed.last_update_utc > load_crl(first).last_update_utc
    number = renewed.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > load_crl(first).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


async def test_housekeeping_renews_a_day_old_crl(
    market: Market, certificates: Certificates, clock: SettableClock
) -> None:
    # Housekeeping also purges the archive, whose view `build_services` alone does not follow.
    await market.services.views.executescript(ArchiveProjection().schema)
    await certificates.revocation_list()
    clock.advance(days(1))
    round_at = clock.now()

    await market.services.housekeeper.run_once()

    clock.advance(60)
    current = load_crl(await certificates.revocation_list())
    assert current.last_update_utc == round_at.replace(microsecond=0)
