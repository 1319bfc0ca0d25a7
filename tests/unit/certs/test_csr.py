"""Which certificate signing requests the exchange accepts."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from certs.csr import load_and_check_csr
from certs.errors import CsrRejectedError


def test_accepts_an_rsa_2048_csr_whose_cn_begins_with_the_participant_id(rsa_key, make_csr):
    """An RSA-2048 CSR with CN 'MC1-primary' is accepted for participant MC1."""
    csr = load_and_check_csr(make_csr(rsa_key), "MC1")
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "MC1-primary"


def test_accepts_an_ec_p256_csr(ec_key, make_csr):
    """An EC P-256 CSR is accepted."""
    csr = load_and_check_csr(make_csr(ec_key), "MC1")
    assert isinstance(csr.public_key(), ec.EllipticCurvePublicKey)


def test_refuses_an_rsa_1024_key_naming_its_size(make_csr):
    """RSA keys under 2048 bits are refused, and the reason says which key was found."""
    short_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(CsrRejectedError) as caught:
        load_and_check_csr(make_csr(short_key), "MC1")
    assert str(caught.value).startswith("RSA 1024-bit keys are too short")
    assert caught.value.reason == str(caught.value)


def test_refuses_an_rsa_key_over_4096_bits_naming_its_size(make_csr):
    """RSA keys over 4096 bits (RSA-16384 was accepted once) cost every verification dearly and are refused."""
    # 4104 bits: just over the bound, and far quicker to generate than RSA-16384.
    long_key = rsa.generate_private_key(public_exponent=65537, key_size=4104)
    with pytest.raises(CsrRejectedError) as caught:
        load_and_check_csr(make_csr(long_key), "MC1")
    assert str(caught.value).startswith("RSA 4104-bit keys are too long")


def test_refuses_an_ec_p384_key(make_csr):
    """Only P-256 is accepted among elliptic curves."""
    with pytest.raises(CsrRejectedError, match="secp384r1"):
        load_and_check_csr(make_csr(ec.generate_private_key(ec.SECP384R1())), "MC1")


def test_refuses_an_ed25519_key(make_csr):
    """Key types other than RSA and EC are refused by name."""
    with pytest.raises(CsrRejectedError, match="Ed25519 keys are not accepted"):
        load_and_check_csr(make_csr(ed25519.Ed25519PrivateKey.generate()), "MC1")


def test_refuses_a_cn_that_does_not_begin_with_the_participant_id(rsa_key, make_csr):
    """A CN naming another participant is refused."""
    with pytest.raises(CsrRejectedError, match="must begin with the participant id 'MC1'"):
        load_and_check_csr(make_csr(rsa_key, common_name="MC2-primary"), "MC1")


def test_refuses_a_csr_without_a_common_name(rsa_key, make_csr):
    """A subject without CN is refused."""
    with pytest.raises(CsrRejectedError, match="no common name"):
        load_and_check_csr(make_csr(rsa_key, common_name=None), "MC1")


def test_refuses_a_csr_altered_after_signing(rsa_key, make_csr):
    """Changing the subject after signing breaks the self-signature, which is refused."""
    der = x509.load_pem_x509_csr(make_csr(rsa_key)).public_bytes(serialization.Encoding.DER)
    tampered = x509.load_der_x509_csr(der.replace(b"MC1-primary", b"MC1-primarz"))
    with pytest.raises(CsrRejectedError, match="self-signature is invalid"):
        load_and_check_csr(tampered.public_bytes(serialization.Encoding.PEM), "MC1")


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"hello",
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    ],
    ids=["empty", "text", "broken-pem"],
)
def test_refuses_anything_that_is_not_a_pem_csr(garbage):
    """Input that is not a PEM CSR is refused, not crashed on."""
    with pytest.raises(CsrRejectedError, match="not a PEM certificate signing request"):
        load_and_check_csr(garbage, "MC1")


def test_refuses_a_certificate_offered_as_a_csr(authority):
    """A PEM certificate is not a CSR."""
    with pytest.raises(CsrRejectedError):
        load_and_check_csr(authority.ca_pem().encode(), "MC1")


@pytest.mark.parametrize("common_name", ["MC1", "MC1-signing", "MC1 primary", "MC1_x", "MC1signing"])
def test_accepts_a_cn_that_is_the_participant_id_or_continues_it_with_another_character(rsa_key, make_csr, common_name):
    """The id may stand alone or be followed by anything that cannot continue a participant id."""
    load_and_check_csr(make_csr(rsa_key, common_name=common_name), "MC1")


@pytest.mark.parametrize("common_name", ["MC10-signing", "MC1A", "mc1-signing"])
def test_refuses_a_cn_that_reads_as_another_participant_id(rsa_key, make_csr, common_name):
    """MC1 may not hold a certificate named for MC10 or MC1A (or a lowercase variant)."""
    with pytest.raises(CsrRejectedError, match="must begin with the participant id 'MC1'"):
        load_and_check_csr(make_csr(rsa_key, common_name=common_name), "MC1")


def test_refuses_the_exchanges_reserved_names(rsa_key, make_csr):
    """A participant with id IDX cannot have a certificate named like the exchange's hub."""
    with pytest.raises(CsrRejectedError, match="reserved for the exchange"):
        load_and_check_csr(
            make_csr(rsa_key, common_name="IDX Exchange Hub"), "IDX", reserved_common_names={"IDX Exchange Hub"}
        )


def test_the_authority_reserves_its_own_names(authority, rsa_key, make_csr, now):
    """CertificateAuthority.issue refuses a CSR for the hub's CN even when it begins with the caller's id."""
    with pytest.raises(CsrRejectedError, match="reserved"):
        authority.issue(make_csr(rsa_key, common_name="IDX Exchange Hub"), "IDX", now)


def test_refuses_a_subject_with_two_common_names(rsa_key):
    """Exactly one CN: a second one could name someone else."""
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "MC1-a"), x509.NameAttribute(NameOID.COMMON_NAME, "MC2-b")]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(rsa_key, hashes.SHA256())
    with pytest.raises(CsrRejectedError, match="more than one common name"):
        load_and_check_csr(csr.public_bytes(serialization.Encoding.PEM), "MC1")
