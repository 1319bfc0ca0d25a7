"""Only the sender's nominated, active, exchange-issued certificate, signing these exact bytes, signs a message."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7

from certs.signature import EC_SCHEME, RSA_SCHEME, format_signature, scheme_of, sign_detached
from exchange.kernel.errors import SignatureRefusedError
from tests.crafted_cms import foreign_certificate
from tests.signature_headers import fixed
from tests.unit.services.conftest import Market, Member, SettableClock, certificate_of

# Each builder gets the market, the sender and the body to be sent; it returns the x-signature.
SignatureBuilder = Callable[[Market, Member, bytes], Awaitable[str]]
RSA_ENCRYPTION_OID = bytes.fromhex("06092A864886F70D010101")  # DER of 1.2.840.113549.1.1.1


def cms(body: bytes, sender: Member, *, detached: bool, digest: hashes.HashAlgorithm) -> str:
    assert sender.certificate is not None and sender.key is not None
    options = [pkcs7.PKCS7Options.Binary]
    if detached:
        options.append(pkcs7.PKCS7Options.DetachedSignature)
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(body)
        .add_signer(sender.certificate, sender.key, digest)
        .sign(serialization.Encoding.DER, options)
    )
    return format_signature(der, scheme_of(sender.key))


def prefixed(make: Callable[[str, str], str]) -> SignatureBuilder:
    """The sender's good signature with its prefix and base64 put together by `make` instead."""

    async def build(market: Market, sender: Member, body: bytes) -> str:
        prefix, _, encoded = sender.sign(body).partition(";")
        return make(prefix, encoded)

    return build


async def over_another_body(market: Market, sender: Member, body: bytes) -> str:
    return sender.sign(body + b" ")


async def by_another_participant(market: Market, sender: Member, body: bytes) -> str:
    return (await market.participant("MC", ["MC"])).sign(body)


async def by_a_foreign_ca(market: Market, sender: Member, body: bytes) -> str:
    return sign_detached(body, *foreign_certificate(f"{sender.participant_id}-signing"))


async def by_an_impostor_of_the_exchange_ca(market: Market, sender: Member, body: bytes) -> str:
    """Same issuer name as the exchange CA and the serial of the sender's nominated certificate, another key."""
    assert sender.certificate is not None
    impostor = foreign_certificate(
        f"{sender.participant_id}-signing",
        ca_subject=market.services.authority.ca_certificate.subject,
        serial=sender.certificate.serial_number,
    )
    return sign_detached(body, *impostor)


async def by_own_unnominated_certificate(market: Market, sender: Member, body: bytes) -> str:
    key, issued = await market.issue(sender)
    assert issued.nomination is None
    return sign_detached(body, certificate_of(issued), key)


async def with_the_right_certificate_and_the_wrong_key(market: Market, sender: Member, body: bytes) -> str:
    assert sender.certificate is not None
    return sign_detached(body, sender.certificate, ec.generate_private_key(ec.SECP256R1()))


async def with_a_revoked_certificate(market: Market, sender: Member, body: bytes) -> str:
    await market.services.certificates.revoke(sender.participant_id, sender.serial, "key compromise")
    return sender.sign(body)


async def with_the_embedded_key_algorithm_damaged(market: Market, sender: Member, body: bytes) -> str:
    """A real RSA signature whose embedded certificate names an unknown key algorithm (1.2.840.113549.1.1.99)."""
    key, issued = await market.issue(sender, elliptic=False)
    await market.services.certificates.nominate(sender.participant_id, issued.serial_number, None)
    der = base64.b64decode(sign_detached(body, certificate_of(issued), key).split(";", 1)[1])
    assert RSA_ENCRYPTION_OID in der
    # The certificate comes before the signer info, so the first occurrence is its public key's algorithm.
    return format_signature(der.replace(RSA_ENCRYPTION_OID, RSA_ENCRYPTION_OID[:-1] + b"\x63", 1))


async def attached(market: Market, sender: Member, body: bytes) -> str:
    return cms(body, sender, detached=False, digest=hashes.SHA256())


async def with_sha512_digest(market: Market, sender: Member, body: bytes) -> str:
    return cms(body, sender, detached=True, digest=hashes.SHA512())


REFUSED: list[tuple[str, SignatureBuilder]] = [
    ("body changed after signing", over_another_body),
    ("another participant's nominated certificate", by_another_participant),
    ("certificate from a foreign CA", by_a_foreign_ca),
    ("impostor CA with the exchange CA's name and the sender's serial", by_an_impostor_of_the_exchange_ca),
    ("sender's own certificate, not nominated", by_own_unnominated_certificate),
    ("nominated certificate embedded, another key signed", with_the_right_certificate_and_the_wrong_key),
    ("nominated certificate, revoked", with_a_revoked_certificate),
    ("embedded certificate's key algorithm damaged", with_the_embedded_key_algorithm_damaged),
    ("attached (non-detached) CMS", attached),
    ("SHA-512 digest", with_sha512_digest),
    ("RSA-SHA256 scheme, base64 garbage", fixed("RSA-SHA256;!!!")),
    ("SHA1 scheme", fixed("SHA1;abc")),
    ("RSA-SHA256 scheme, nothing after it", fixed("RSA-SHA256;")),
    ("RSA-SHA256 scheme, base64 of non-CMS", fixed("RSA-SHA256;" + base64.b64encode(b"not DER CMS").decode())),
    ("no scheme", fixed("abc")),
    ("bare base64 of a good CMS", prefixed(lambda prefix, encoded: encoded)),
    ("a space before the ';'", prefixed(lambda prefix, encoded: f"{prefix} ;{encoded}")),
    ("a space after the ';'", prefixed(lambda prefix, encoded: f"{prefix}; {encoded}")),
    ("lower-case prefix", prefixed(lambda prefix, encoded: f"{prefix.lower()};{encoded}")),
    ("EC signer, RSA prefix", prefixed(lambda prefix, encoded: f"{RSA_SCHEME};{encoded}")),
]


@pytest.mark.parametrize("build", [b for _, b in REFUSED], ids=[name for name, _ in REFUSED])
async def test_a_signature_that_is_not_the_senders_nominated_one_over_this_body_is_refused(
    market: Market, build: SignatureBuilder
) -> None:
    """A valid body with a bad, foreign, unnominated, revoked or malformed signature is refused; nothing recorded."""
    sender = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    body = market.body(sender, [lnsp])

    with pytest.raises(SignatureRefusedError):
        await market.submit(sender, body, signature=await build(market, sender, body))

    assert await market.messages() == 0


async def test_a_signature_by_an_expired_certificate_is_refused(market: Market, clock: SettableClock) -> None:
    """Past its notAfter, the nominated certificate signs nothing more."""
    sender = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    clock.advance(timedelta(days=1096).total_seconds())

    with pytest.raises(SignatureRefusedError):
        await market.submit(sender, market.body(sender, [lnsp]))


async def test_after_renomination_the_old_primary_is_refused_and_the_new_one_accepted(market: Market) -> None:
    """A new primary without secondary: the old certificate's signatures are refused, the new one's accepted."""
    sender = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    key, issued = await market.issue(sender)
    await market.services.certificates.nominate(sender.participant_id, issued.serial_number, None)

    with pytest.raises(SignatureRefusedError):
        await market.submit(sender, market.body(sender, [lnsp]))
    body = market.body(sender, [lnsp])
    await market.submit(sender, body, signature=sign_detached(body, certificate_of(issued), key))

    assert await market.messages() == 1


async def test_a_secondary_certificate_signs_as_well_as_the_primary(market: Market) -> None:
    """With the new certificate primary and the old one secondary, both sign."""
    sender = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    key, issued = await market.issue(sender)
    await market.services.certificates.nominate(sender.participant_id, issued.serial_number, sender.serial)

    await market.submit(sender, market.body(sender, [lnsp]))
    body = market.body(sender, [lnsp])
    await market.submit(sender, body, signature=sign_detached(body, certificate_of(issued), key))

    assert await market.messages() == 2
    nominations = await market.services.certificates.nominations(sender.participant_id)
    assert nominations == {"primary": issued.serial_number, "secondary": sender.serial}


async def test_an_rsa_certificate_signs_as_well_as_an_ec_one(market: Market) -> None:
    """RSA 2048 and EC P-256 keys are both accepted for signing once nominated."""
    sender = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    key, issued = await market.issue(sender, elliptic=False)
    await market.services.certificates.nominate(sender.participant_id, issued.serial_number, None)
    body = market.body(sender, [lnsp])

    receipt = await market.submit(sender, body, signature=sign_detached(body, certificate_of(issued), key))

    assert receipt.message_context_id.startswith(f"pqd~bpqd~m~{sender.participant_id}~")


async def test_an_ec_signer_writes_ecdsa_sha256_and_an_rsa_signer_rsa_sha256_and_not_the_other(
    market: Market,
) -> None:
    """Each key type has its own prefix: the right one is accepted, the other refused, for RSA and EC signers."""
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    ec_sender = await market.participant("MC", ["MC"])
    rsa_sender = await market.participant("MC", ["MC"], enrol=False)
    key, issued = await market.issue(rsa_sender, elliptic=False)
    await market.services.certificates.nominate(rsa_sender.participant_id, issued.serial_number, None)
    rsa_sender.key, rsa_sender.certificate = key, certificate_of(issued)

    for sender, own, other in ((ec_sender, EC_SCHEME, RSA_SCHEME), (rsa_sender, RSA_SCHEME, EC_SCHEME)):
        body = market.body(sender, [lnsp])
        signature = sender.sign(body)
        assert signature.startswith(f"{own};")
        with pytest.raises(SignatureRefusedError, match="prefix"):
            await market.submit(sender, body, signature=other + signature.removeprefix(own))
        await market.submit(sender, body, signature=signature)
    assert await market.messages() == 2


async def test_the_refusal_of_a_valid_signature_by_the_wrong_certificate_says_what_is_wrong_with_it(
    market: Market,
) -> None:
    """Another's certificate, an unnominated one and a revoked one are each named as such."""
    sender = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    body = market.body(sender, [lnsp])
    other = await market.participant("MC", ["MC"])
    key, unnominated = await market.issue(sender)
    me = sender.participant_id
    wrong = {
        f"certificate {other.serial} was not issued to {me}": other.sign(body),
        f"certificate {unnominated.serial_number} is not {me}'s nominated primary or secondary": sign_detached(
            body, certificate_of(unnominated), key
        ),
    }
    for detail, signature in wrong.items():
        with pytest.raises(SignatureRefusedError) as refused:
            await market.submit(sender, body, signature=signature)
        assert refused.value.detail == detail

    await market.services.certificates.revoke(sender.participant_id, sender.serial, "key compromise")
    with pytest.raises(SignatureRefusedError) as revoked:
        await market.submit(sender, body)

    assert revoked.value.detail == f"certificate {sender.serial} is revoked"
