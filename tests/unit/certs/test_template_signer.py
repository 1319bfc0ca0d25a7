"""The hub's template signer makes the same detached CMS signatures as the PKCS7 builder, for RSA and EC keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certs import profiles
from certs.authority import CertificateAuthority
from certs.errors import SignatureInvalidError
from certs.fast_signer import TemplateSigner
from certs.signature import EC_SCHEME, RSA_SCHEME, format_signature, parse_signature_header, verify_signature_header

BODY = b'{"data": {"header": {}}}\n'


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("pki"), datetime.now(UTC))


def signer_of(authority: CertificateAuthority, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> TemplateSigner:
    now = datetime.now(UTC)
    certificate = profiles.build_signing_certificate(
        ca_key=authority._ca_key,
        ca_certificate=authority.ca_certificate,
        subject=profiles.hub_subject("Template signer"),
        public_key=key.public_key(),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=30),
        usages=profiles.HUB_USAGES,
    )
    return TemplateSigner(certificate, key)


@pytest.mark.parametrize(
    ("key", "scheme"),
    [(rsa.generate_private_key(65537, 2048), RSA_SCHEME), (ec.generate_private_key(ec.SECP256R1()), EC_SCHEME)],
    ids=["rsa", "ec"],
)
def test_a_template_signature_verifies_with_its_prefix_and_only_over_its_content(
    authority: CertificateAuthority, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, scheme: str
) -> None:
    """Verified over the body, with the key type's prefix; refused over other bytes and under the other prefix."""
    signer = signer_of(authority, key)
    header = signer.sign(BODY)

    assert header.startswith(f"{scheme};")
    assert verify_signature_header(header, BODY).public_key().public_numbers() == key.public_key().public_numbers()
    with pytest.raises(SignatureInvalidError):
        verify_signature_header(header, BODY + b" ")
    other = EC_SCHEME if scheme == RSA_SCHEME else RSA_SCHEME
    with pytest.raises(SignatureInvalidError):
        verify_signature_header(format_signature(parse_signature_header(header), other), BODY)


@pytest.mark.parametrize("moment", [datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2051, 1, 1, tzinfo=UTC)])
def test_the_signing_time_is_signed_as_utc_time_or_generalized_time(
    authority: CertificateAuthority, moment: datetime
) -> None:
    """The signed attributes carry the signing time (GeneralizedTime from 2050), in DER order, and still verify."""
    signer = signer_of(authority, ec.generate_private_key(ec.SECP256R1()))
    der = signer.sign_der(BODY, moment)

    verify_signature_header(format_signature(der, EC_SCHEME), BODY)
    signed_attrs = cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signed_attrs"]
    attributes = {a["type"].native: a["values"][0].native for a in signed_attrs}
    assert attributes["signing_time"] == moment
    encoded = [a.dump() for a in signed_attrs]
    assert encoded == sorted(encoded)
