"""Submission receipts verify with the CA certificate alone, and only when every signed field is intact."""

import hashlib
from datetime import datetime, timedelta

import pytest

from certs.authority import CertificateAuthority
from certs.errors import ChainError, SignatureInvalidError
from certs.receipts import ReceiptFormatError, parse_receipt, receipt_content, verify_receipt
from certs.signature import sign_detached

PAYLOAD = b'{"data": 1}'


def _answer(authority, *, payload=PAYLOAD, received="2026-07-01T10:00:00.000+10:00", signer=None):
    """A submission's 200 answer as the exchange makes it."""
    digest = hashlib.sha256(payload).hexdigest()
    content = receipt_content("pqd~bpqd~m~MC1~abc", digest, received)
    receipt = authority.sign(content) if signer is None else sign_detached(content, *signer)
    return {
        "data": {
            "messageContextId": "pqd~bpqd~m~MC1~abc",
            "payloadSha256": digest,
            "receivedDateTime": received,
            "receipt": receipt,
        }
    }


def _later(value):
    return (datetime.fromisoformat(value) + timedelta(milliseconds=1)).isoformat(timespec="milliseconds")


@pytest.fixture
def received(now):
    return (now + timedelta(hours=1)).isoformat(timespec="milliseconds")


def test_a_genuine_receipt_verifies_and_names_the_hub(authority, received):
    """The 200 answer (or its data object) verifies against the CA; the signer is the hub certificate."""
    answer = _answer(authority, received=received)
    assert verify_receipt(parse_receipt(answer), authority.ca_certificate, PAYLOAD) == authority.hub_certificate
    assert verify_receipt(parse_receipt(answer["data"]), authority.ca_certificate) == authority.hub_certificate


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("messageContextId", lambda value: value + "x"),
        ("payloadSha256", lambda value: "0" * 64),
        ("receivedDateTime", lambda value: _later(value)),
    ],
    ids=["messageContextId", "payloadSha256", "receivedDateTime"],
)
def test_changing_any_signed_field_breaks_the_receipt(authority, received, field, change):
    """Each of the three fields is covered by the signature."""
    answer = _answer(authority, received=received)
    answer["data"][field] = change(answer["data"][field])
    assert answer["data"][field] != _answer(authority, received=received)["data"][field]
    with pytest.raises(SignatureInvalidError):
        verify_receipt(parse_receipt(answer), authority.ca_certificate)


def test_another_payload_is_refused_naming_both_digests(authority, received):
    """With a payload, its SHA-256 must be the receipt's payloadSha256."""
    receipt = parse_receipt(_answer(authority, received=received))
    with pytest.raises(SignatureInvalidError, match=receipt.payload_sha256):
        verify_receipt(receipt, authority.ca_certificate, PAYLOAD + b" ")


def test_a_receipt_signed_by_a_participant_is_not_a_hub_receipt(authority, rsa_participant, received):
    """A participant certificate chains to the same CA but cannot make a receipt."""
    answer = _answer(authority, received=received, signer=rsa_participant)
    with pytest.raises(SignatureInvalidError, match="not by the hub"):
        verify_receipt(parse_receipt(answer), authority.ca_certificate)


def test_a_receipt_from_another_exchange_does_not_chain(authority, foreign_authority, received):
    """The hub of a foreign CA fails the chain check."""
    answer = _answer(foreign_authority, received=received)
    with pytest.raises(ChainError):
        verify_receipt(parse_receipt(answer), authority.ca_certificate)


def test_a_receipt_is_checked_at_its_received_time_so_it_outlives_the_hub_key(tmp_path, now):
    """After a rollover, a receipt from before it still verifies: the old hub was valid when it signed."""
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    answer = _answer(authority, received=(now + timedelta(minutes=1)).isoformat())
    authority.rotate_hub(now + timedelta(days=1))
    assert verify_receipt(parse_receipt(answer), authority.ca_certificate) in authority.previous_hub_certificates


def test_a_receipt_dated_outside_the_hub_certificate_is_refused(authority, now):
    """receivedDateTime before the hub certificate existed fails the chain check at that time."""
    answer = _answer(authority, received="2001-01-01T00:00:00.000+10:00")
    with pytest.raises(ChainError, match=r"not valid before|CA is not valid"):
        verify_receipt(parse_receipt(answer), authority.ca_certificate)


@pytest.mark.parametrize(
    "document",
    [[], "text", {"data": {"messageContextId": "x"}}, {"messageContextId": 1}],
    ids=["list", "string", "missing fields", "wrong type"],
)
def test_anything_but_a_submission_answer_is_a_format_error(document):
    """parse_receipt names what is missing instead of failing obscurely."""
    with pytest.raises(ReceiptFormatError):
        parse_receipt(document)


def test_a_receipt_time_without_offset_is_a_format_error(authority):
    """receivedDateTime must carry its UTC offset, as the exchange writes it."""
    answer = _answer(authority, received="2026-07-01T10:00:00.000")
    with pytest.raises(ReceiptFormatError, match="offset"):
        verify_receipt(parse_receipt(answer), authority.ca_certificate)
