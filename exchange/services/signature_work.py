"""Where the CPU work of signatures runs: checking a participant's CMS signature and making the hub's two.

This is pure work on bytes, so it can leave the serving process: with `processes` > 0 it runs in a pool of
processes of its own (`--signing-processes`), each holding the hub's key and certificate from its start, so that
it does not wait behind the one GIL of the process that serves requests. A job is small and plain both ways: a
header and a body in, DER and header strings out. With 0 processes the work runs in the calling thread.

What is decided from the exchange's state (which participant may sign with which certificate, revocation,
nomination) stays in the serving process: see ParticipantSignatures.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.authority import CertificateAuthority
from certs.fast_signer import TemplateSigner
from certs.signature import SigningKey, verify_signature_header
from exchange.kernel.errors import UnavailableError

log = structlog.get_logger(__name__)
T = TypeVar("T")

# The hub signer of a pool process, made by `_start_process` from the key and certificate it was given.
_hub: TemplateSigner | None = None


class SignatureWork:
    """Checks and makes signatures, in this thread or in a pool of processes. Thread-safe."""

    def __init__(self, authority: CertificateAuthority, processes: int = 0) -> None:
        self._authority = authority
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        if processes > 0:
            key_pem, certificate_pem = authority.hub_key_pem(), authority.hub_pem().encode()
            # spawn, not fork: the serving process has threads (and an event loop) that a fork would copy mid-step.
            self._pool = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_process,
                initargs=(key_pem, certificate_pem),
            )

    @property
    def processes(self) -> int:
        return self._processes

    def warm_up(self) -> None:
        """Start every pool process now, so that the first submissions do not wait for them to start."""
        if self._pool is not None:
            for future in [self._pool.submit(_ready) for _ in range(self.processes)]:
                future.result()

    def verify(self, header: str, content: bytes) -> x509.Certificate:
        """The signer certificate of a valid `x-signature` header over `content`.

        Raises certs.errors.CertificateError as verify_signature_header does. Says nothing about who the signer is.
        """
        if self._pool is None:
            return verify_signature_header(header, content)
        return _certificate(self._in_pool(_verify, header, content))

    def sign_pair(self, first: bytes, second: bytes) -> tuple[str, str]:
        """The hub's signatures over two contents (a receipt and the payload), in one job."""
        if self._pool is None:
            return self._authority.sign(first), self._authority.sign(second)
        return self._in_pool(_sign_pair, first, second)

    def _in_pool(self, job: Callable[..., T], *arguments: object) -> T:
        pool = self._pool
        assert pool is not None
        try:
            result: T = pool.submit(job, *arguments).result()
        except BrokenProcessPool:
            # A pool process died (killed, out of memory): this request may try again, and from now on the work
            # is done in this process's threads rather than refused.
            log.error("signing_processes_lost", processes=self._processes)
            self._pool, self._processes = None, 0
            pool.shutdown(wait=False, cancel_futures=True)
            raise UnavailableError("the signing processes stopped; try again") from None
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


@functools.lru_cache(maxsize=1024)
def _certificate(der: bytes) -> x509.Certificate:
    """A signer certificate back from a pool process, parsed once per certificate."""
    return x509.load_der_x509_certificate(der)


def _start_process(key_pem: bytes, certificate_pem: bytes) -> None:
    global _hub
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert not isinstance(key, str)
    signing_key: SigningKey = key  # type: ignore[assignment]  # the hub key is RSA or EC P-256 by construction
    _hub = TemplateSigner(x509.load_pem_x509_certificate(certificate_pem), signing_key)


def _ready() -> None:
    """Nothing: a job that only makes its process start."""


def _verify(header: str, content: bytes) -> bytes:
    return verify_signature_header(header, content).public_bytes(serialization.Encoding.DER)


def _sign_pair(first: bytes, second: bytes) -> tuple[str, str]:
    assert _hub is not None, "a pool process signs only after _start_process"
    return _hub.sign(first), _hub.sign(second)
