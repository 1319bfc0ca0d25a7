"""Signatures checked and made in a pool of processes give the same answers as in the serving process (with the use
cases on the in-memory store, as tests/unit/services builds them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from certs.authority import CertificateAuthority
from certs.errors import SignatureInvalidError
from certs.signature import verify_signature_header
from exchange.services.signature_work import SignatureWork

# The use cases on the in-memory store, as tests/unit/services builds them (its fixtures).
from tests.unit.services.conftest import (  # noqa: F401
    SHARED_LOOP,
    Market,
    authority,
    clock,
    make_services,
    market,
    registry,
    services,
)

BODY = b'{"data": {"header": {}}}'


@pytest.fixture(scope="module")
def pooled(authority: CertificateAuthority) -> Iterator[SignatureWork]:
    work = SignatureWork(authority, processes=1)
    work.warm_up()
    yield work
    work.close()


@SHARED_LOOP  # the loop the use cases' fixtures run on
async def test_a_pool_process_verifies_a_participant_signature_and_refuses_a_wrong_one(
    pooled: SignatureWork, market: Market
) -> None:
    """The signer certificate comes back from the pool; a signature over other bytes is refused as in-thread."""
    mc = await market.participant("MC", ["MC"])
    assert mc.certificate is not None

    assert pooled.verify(mc.sign(BODY), BODY) == mc.certificate
    with pytest.raises(SignatureInvalidError):
        pooled.verify(mc.sign(BODY), BODY + b" ")


def test_a_pool_process_signs_as_the_hub(pooled: SignatureWork, authority: CertificateAuthority) -> None:
    """Both hub signatures made in the pool verify over their contents with the hub's certificate."""
    receipt, resigned = pooled.sign_pair(b"ctx|sha|time", BODY)

    assert verify_signature_header(receipt, b"ctx|sha|time") == authority.hub_certificate
    assert verify_signature_header(resigned, BODY) == authority.hub_certificate
    assert pooled.processes == 1
