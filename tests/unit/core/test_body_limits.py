"""The limits on what a body may make the exchange do: JSON depth, repeated keys, gzip members and work."""

from __future__ import annotations

import gzip
import time

import pytest

from exchange.functions.bpqd.sample import sample_body
from exchange.http.body import MAX_GZIP_MEMBERS, MAX_JSON_DEPTH, check_json, decode_body
from exchange.http.problems import PayloadTooLargeError
from exchange.kernel.errors import MalformedError


def nested(depth: int, *, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    return opener * depth + closer * depth


def test_json_nested_exactly_to_the_limit_passes() -> None:
    """Arrays and objects nested 64 deep, alternating, are accepted."""
    body = b'{"a":[' * (MAX_JSON_DEPTH // 2) + b"1" + b"]}" * (MAX_JSON_DEPTH // 2)
    check_json(body)


@pytest.mark.parametrize(
    "body",
    [
        nested(MAX_JSON_DEPTH + 1),
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b'{"data":{"header":' + nested(1000) + b"}}",
        b"[" * 100_000,  # never closed: a decoder recurses before it notices
    ],
    ids=["65 arrays", "1,000 objects", "1,000 deep inside an envelope", "100,000 openers"],
)
def test_json_nested_past_the_limit_is_malformed(body: bytes) -> None:
    """Nesting past 64 levels, balanced or not, is refused before any decoder can recurse on it."""
    with pytest.raises(MalformedError, match="deeper than 64"):
        check_json(body)


def test_brackets_inside_strings_do_not_count() -> None:
    """A string full of brackets, with escaped quotes among them, is text, not nesting."""
    check_json(b'{"a": "' + b"[{" * 1000 + b'\\" ]]' + b'"}')


def test_a_repeated_key_is_malformed() -> None:
    """Two `data` keys in the envelope are refused, naming the key; a key repeated in another object is fine."""
    with pytest.raises(MalformedError, match="'data'"):
        check_json(b'{"data": {"a": 1}, "data": {"a": 2}}')
    with pytest.raises(MalformedError, match="'x'"):
        check_json(b'{"data": [{"x": 1, "y": 2, "x": 3}]}')
    check_json(b'{"data": [{"x": 1}, {"x": 2}], "x": 3}')


@pytest.mark.parametrize("body", [b"", b"not json", b'{"data": ', b'{"a": 1,}', b'{"big": ' + b"9" * 5000 + b"}"])
def test_a_body_that_is_not_json_is_left_to_its_decoder(body: bytes) -> None:
    """Syntax errors are not this check's business: the body's own decoder answers as before."""
    check_json(body)


def test_a_sample_envelope_passes() -> None:
    """A real BPQD envelope passes the check."""
    check_json(sample_body("MC1", ["LNSP1", "LNSP2"]))


def test_gzip_members_up_to_the_cap_decode() -> None:
    """64 concatenated members decode to their contents in order."""
    body = b"".join(gzip.compress(str(i).encode()) for i in range(MAX_GZIP_MEMBERS))
    assert decode_body(body, "gzip") == "".join(str(i) for i in range(MAX_GZIP_MEMBERS)).encode()


def test_too_many_gzip_members_are_refused_quickly() -> None:
    """2 MB of 100,000 empty members is refused at member 65, in a small fraction of a second."""
    body = gzip.compress(b"", mtime=0) * 100_000
    started = time.monotonic()
    with pytest.raises(PayloadTooLargeError, match="more than 64 members"):
        decode_body(body, "gzip")
    assert time.monotonic() - started < 0.5
