"""Nominations name the participant's own active certificates; CSRs must be acceptable for the participant."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from certs.participant import build_csr, new_signing_key
from certs.signature import SigningKey
from exchange.kernel.errors import InvalidError, NotFoundError
from exchange.services.certificates import Certificates
from tests.unit.services.conftest import Market


@pytest.fixture
def certificates(market: Market) -> Certificates:
    return market.services.certificates


async def refused_fields(
    certificates: Certificates, participant_id: str, primary: str, secondary: str | None
) -> list[str]:
    with pytest.raises(InvalidError) as refused:
        await certificates.nominate(participant_id, primary, secondary)
    return [e.field for e in refused.value.errors]


@pytest.mark.parametrize("role", ["primary", "secondary"])
async def test_nominating_another_participants_certificate_is_invalid_naming_the_field(
    market: Market, certificates: Certificates, role: str
) -> None:
    """A serial of someone else's certificate, as primary or secondary, is refused; both nominations stay."""
    mc = await market.participant("MC", ["MC"])
    other = await market.participant("MC", ["MC"])
    primary, secondary = (other.serial, None) if role == "primary" else (mc.serial, other.serial)

    assert await refused_fields(certificates, mc.participant_id, primary, secondary) == [role]

    assert await certificates.nominations(mc.participant_id) == {"primary": mc.serial, "secondary": None}
    assert await certificates.nominations(other.participant_id) == {"primary": other.serial, "secondary": None}


async def test_nominating_an_unknown_serial_is_invalid(market: Market, certificates: Certificates) -> None:
    """A serial no certificate has is refused, naming `primary`."""
    mc = await market.participant("MC", ["MC"])

    assert await refused_fields(certificates, mc.participant_id, "abcdef0123456789", None) == ["primary"]


async def test_a_revoked_certificate_cannot_be_nominated(market: Market, certificates: Certificates) -> None:
    """An inactive (revoked) certificate as secondary is refused with a reason; the nominations stay."""
    mc = await market.participant("MC", ["MC"])
    _, extra = await market.issue(mc)
    await certificates.revoke(mc.participant_id, extra.serial_number, "unused")

    with pytest.raises(InvalidError) as refused:
        await certificates.nominate(mc.participant_id, mc.serial, extra.serial_number)

    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("secondary", f"{extra.serial_number} is revoked; nominate an active one")
    ]
    assert (await certificates.nominations(mc.participant_id))["secondary"] is None


async def test_the_secondary_must_differ_from_the_primary(market: Market, certificates: Certificates) -> None:
    """One certificate cannot be both primary and secondary."""
    mc = await market.participant("MC", ["MC"])

    assert await refused_fields(certificates, mc.participant_id, mc.serial, mc.serial) == ["secondary"]


async def test_a_serial_is_nominated_in_the_apis_form_whatever_its_case_or_leading_zeros(
    market: Market, certificates: Certificates
) -> None:
    """Upper case and leading zeros name the same certificate; the nomination is stored in lowercase hex."""
    mc = await market.participant("MC", ["MC"])

    nominated = await certificates.nominate(mc.participant_id, "00" + mc.serial.upper(), None)

    assert nominated == {"primary": mc.serial, "secondary": None}


async def test_the_certificate_list_shows_each_certificates_nomination(
    market: Market, certificates: Certificates
) -> None:
    """With the new certificate primary and the old one secondary, the list shows both roles."""
    mc = await market.participant("MC", ["MC"])
    _, issued = await market.issue(mc)
    await certificates.nominate(mc.participant_id, issued.serial_number, mc.serial)

    page = await certificates.listing(mc.participant_id)

    assert {item.serial_number: item.nomination for item in page.items} == {
        mc.serial: "secondary",
        issued.serial_number: "primary",
    }


def csr_for(key: SigningKey | None = None, common_name: str | None = "{pid}-x") -> Callable[[str], str]:
    def make(participant_id: str) -> str:
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Pty Ltd")]
        if common_name is not None:
            attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name.format(pid=participant_id)))
        request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
        signed = request.sign(key or new_signing_key(elliptic=True), hashes.SHA256())
        return signed.public_bytes(serialization.Encoding.PEM).decode()

    return make


CSRS: list[tuple[str, Callable[[str], str]]] = [
    ("CN of another participant", csr_for(common_name="ZZSOMEONE-signing")),
    ("RSA 1024", csr_for(rsa.generate_private_key(public_exponent=65537, key_size=1024))),
    ("EC P-384", csr_for(ec.generate_private_key(ec.SECP384R1()))),
    ("no common name", csr_for(common_name=None)),
    ("not a CSR", lambda pid: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
]


@pytest.mark.parametrize("make", [m for _, m in CSRS], ids=[name for name, _ in CSRS])
async def test_an_unacceptable_csr_is_invalid_naming_csr(
    market: Market, certificates: Certificates, make: Callable[[str], str]
) -> None:
    """A CSR for someone else, with a weak or unsupported key, without CN or unreadable is refused; nothing issued."""
    mc = await market.participant("MC", ["MC"], enrol=False)

    with pytest.raises(InvalidError) as refused:
        await certificates.issue(mc.participant_id, make(mc.participant_id))

    assert [e.field for e in refused.value.errors] == ["csr"]
    assert (await certificates.listing(mc.participant_id)).total_records == 0


async def test_certificates_are_issued_only_to_participants_that_exist(certificates: Certificates) -> None:
    """Issuing for an unknown participant is NotFoundError."""
    with pytest.raises(NotFoundError):
        await certificates.issue("NOBODY1", build_csr(new_signing_key(elliptic=True), "NOBODY1-x").decode())
