"""Reading request bodies: identity or gzip, capped at the limit once decompressed."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import pytest

from exchange.http.body import accepts_gzip, decode_body, gunzip_capped, gzip_bytes
from exchange.http.problems import PayloadTooLargeError, UnsupportedMediaTypeError
from exchange.kernel.errors import MalformedError

MIB = 1024 * 1024
BOMB_LIMIT = 10 * MIB
CHILD_TIMEOUT = 8


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """200 MiB of zeros as one gzip member (about 200 KB), built without holding 200 MiB in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    parts = [compressor.compress(zeros) for _ in range(200)]
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.mark.parametrize("encoding", [None, "identity", " Identity "])
def test_identity_body_within_the_limit_passes_unchanged(encoding: str | None) -> None:
    """An identity body at or under the limit comes back byte for byte."""
    raw = os.urandom(1000)
    assert decode_body(raw, encoding, limit=1000) == raw


def test_identity_body_over_the_limit_is_too_large() -> None:
    """An identity body one byte over the limit is refused as too large."""
    with pytest.raises(PayloadTooLargeError):
        decode_body(b"x" * 1001, None, limit=1000)


def test_gzip_body_round_trips() -> None:
    """A gzip body decodes to what was compressed, whether compressed here or by the gzip module."""
    original = b'{"hello": "world"}' * 5000
    assert decode_body(gzip_bytes(original), "gzip") == original
    assert decode_body(gzip.compress(original), "GZIP") == original


def test_gzip_body_exactly_at_the_limit_passes() -> None:
    """A gzip body whose decompressed size equals the limit is accepted; one byte more is refused."""
    original = os.urandom(200_000)
    assert decode_body(gzip_bytes(original), "gzip", limit=200_000) == original
    with pytest.raises(PayloadTooLargeError):
        decode_body(gzip_bytes(original), "gzip", limit=199_999)


def test_concatenated_gzip_members_decode_to_the_concatenation() -> None:
    """A multi-member gzip body (RFC 1952) decodes to the members' contents in order."""
    first, second, third = b"first member;" * 1000, os.urandom(50_000), b"third"
    raw = gzip_bytes(first) + gzip.compress(second) + gzip_bytes(third)
    assert decode_body(raw, "gzip") == first + second + third


def test_concatenated_gzip_with_a_member_larger_than_one_step_decodes(tmp_path: Path) -> None:
    """A member that inflates to more than one 64 KiB step, followed by another member, decodes (no endless loop)."""
    first, second = os.urandom(70_000), b"second member"
    body = tmp_path / "body.gz"
    body.write_bytes(gzip.compress(first) + gzip_bytes(second))
    # In a child process: were decoding to loop forever, only a process can be stopped from outside.
    script = (
        "import hashlib, sys; from exchange.http.body import decode_body; "
        "out = decode_body(open(sys.argv[1], 'rb').read(), 'gzip'); print(hashlib.sha256(out).hexdigest())"
    )
    try:
        child = subprocess.run(
            [sys.executable, "-c", script, str(body)], capture_output=True, text=True, timeout=CHILD_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"decode_body did not return within {CHILD_TIMEOUT} s on a two-member body")
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == hashlib.sha256(first + second).hexdigest()


def test_gzip_members_together_over_the_limit_are_too_large() -> None:
    """The limit applies to the sum of all members, not to each one."""
    member = gzip_bytes(b"a" * 600)
    with pytest.raises(PayloadTooLargeError):
        decode_body(member + member, "gzip", limit=1000)


def test_gzip_bomb_stops_at_the_limit_with_small_peak_memory(gzip_bomb: bytes) -> None:
    """A 200 MiB gzip bomb is refused without ever holding much more than the 10 MiB limit in memory."""
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLargeError):
            decode_body(gzip_bomb, "gzip", limit=BOMB_LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * BOMB_LIMIT, f"peak {peak / MIB:.1f} MiB"


def test_truncated_gzip_is_a_bad_request() -> None:
    """A gzip body cut short (its trailer or part of its data missing) is a bad request."""
    raw = gzip_bytes(os.urandom(10_000))
    for cut in (1, 8, len(raw) // 2):
        with pytest.raises(MalformedError, match="truncated"):
            gunzip_capped(raw[:-cut], MIB)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"this is not gzip at all", id="not-gzip"),
        pytest.param(gzip_bytes(b"payload" * 100)[:-8] + b"\x00\x00\x00\x00\x00\x00\x00\x00", id="wrong-crc"),
        pytest.param(gzip_bytes(b"abc") + b"garbage after the member", id="trailing-garbage"),
    ],
)
def test_corrupt_gzip_is_a_bad_request(raw: bytes) -> None:
    """A body that is not valid gzip (bad header, bad checksum, garbage after a member) is a bad request."""
    with pytest.raises(MalformedError):
        decode_body(raw, "gzip")


def test_corrupt_deflate_data_is_a_bad_request() -> None:
    """Flipped bits inside the compressed data are detected (by inflate or the CRC) as a bad request."""
    raw = bytearray(gzip_bytes(os.urandom(5000)))
    for i in range(12, len(raw) - 8):
        raw[i] ^= 0xFF
    with pytest.raises(MalformedError):
        decode_body(bytes(raw), "gzip")


@pytest.mark.parametrize("encoding", ["br", "deflate", "compress", "zstd"])
def test_other_content_encodings_are_unsupported(encoding: str) -> None:
    """Encodings other than gzip and identity are refused as an unsupported media type."""
    with pytest.raises(UnsupportedMediaTypeError):
        decode_body(gzip_bytes(b"x"), encoding)


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0", False),
        ("gzip;q=0.5", True),
        ("br, gzip", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("*", True),
        ("identity", False),
        ("br", False),
        ("", False),
        (None, False),
        ("gzip;q=0, *", False),
        # RFC 9110 §12.5.3: "*" stands only for codings not listed, so an explicit gzip wins over "*;q=0".
        ("*;q=0, gzip", True),
    ],
)
def test_accepts_gzip_reads_accept_encoding(accept_encoding: str | None, expected: bool) -> None:
    """Accept-Encoding allows gzip when gzip or * is listed without q=0."""
    assert accepts_gzip(accept_encoding) is expected
