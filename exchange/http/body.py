"""Reading a request body: identity or gzip, never more than the limit once decompressed, and JSON that no
decoder can choke on (nested at most 64 deep, no key twice in one object)."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import zlib
from typing import Any

from litestar import Request

from exchange.http.problems import PayloadTooLargeError, UnsupportedMediaTypeError
from exchange.kernel.errors import MalformedError

MAX_BODY = 10 * 1024 * 1024  # 10 MB uncompressed, per request and response (IDX)
# A client compresses a body as one member; a few concatenated files are plausible, 100,000 empty ones are an attack
# (each member costs a fresh inflater, so they cost time out of all proportion to their size).
MAX_GZIP_MEMBERS = 64
# Every decoder we use (msgspec, json, Litestar's) recurses once per level and fails at about 1,000 with a
# RecursionError; no envelope of IDX comes near 64.
MAX_JSON_DEPTH = 64
_CHUNK = 64 * 1024
# A bounded zlib call yields at most _CHUNK bytes, so a body within the limit needs at most this many of them per
# member, plus the calls that yield nothing (the end of a member, a few empty blocks).
_STEPS = MAX_BODY // _CHUNK + 1 + 4 * MAX_GZIP_MEMBERS


def decode_body(raw: bytes, content_encoding: str | None, limit: int = MAX_BODY) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        if len(raw) > limit:
            raise PayloadTooLargeError(f"the body is {len(raw)} bytes; the limit is {limit}")
        return raw
    if encoding == "gzip":
        return gunzip_capped(raw, limit)
    raise UnsupportedMediaTypeError(f"Content-Encoding {content_encoding!r} is not supported; use gzip or identity")


def gunzip_capped(raw: bytes, limit: int, *, members: int = MAX_GZIP_MEMBERS, steps: int = _STEPS) -> bytes:
    """Decompress gzip members one bounded step at a time, so a gzip bomb stops at the limit, not in memory, and a
    body of countless tiny members stops at `members`, not after seconds of work."""
    out = bytearray()
    data = raw
    for _ in range(members):
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = data
        while not inflater.eof:
            steps -= 1
            if steps < 0:
                raise PayloadTooLargeError("the gzip body takes too much work to decompress")
            try:
                # With all input taken, zlib may still hold output: an empty input asks for the next step of it.
                chunk = inflater.decompress(pending, _CHUNK)
            except zlib.error as error:
                raise MalformedError(f"the gzip body is corrupt: {error}") from error
            out += chunk
            if len(out) > limit:
                raise PayloadTooLargeError(f"the body is over {limit} bytes once decompressed")
            if not chunk and not inflater.unconsumed_tail:
                break  # no input left and nothing more to give: the member ends early
            pending = inflater.unconsumed_tail
        if not inflater.eof:
            raise MalformedError("the gzip body is truncated")
        data = inflater.unused_data
        if not data:
            return bytes(out)
    raise PayloadTooLargeError(f"the gzip body has more than {members} members")


# What cannot change the nesting: whole strings (which may hold brackets) and runs of anything but brackets.
_NOT_NESTING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[^\[\]{}"]+')
# Objects and arrays nest alike; a quote left over starts a string that never ends, which cannot nest anything.
_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


def check_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse (MalformedError) JSON nested deeper than `max_depth` or with a key twice in one object.

    Anything else, including a body that is not JSON at all, is left to the decoder that reads it, so that its
    answer stays the same. Runs before any decoder, since every decoder recurses and a deep body crashes it.
    """
    brackets = _NOT_NESTING.sub(b"", body).translate(_AS_BRACKETS, b'"')
    # Each pass removes the innermost level, so a body `max_depth` deep stops changing after `max_depth` passes.
    levels = 0
    while levels <= max_depth and (shallower := brackets.replace(b"[]", b"")) != brackets:
        brackets = shallower
        levels += 1
    # What is left never closes (not JSON); a decoder would still recurse once for each opener left before failing.
    if levels + brackets.count(b"[") > max_depth:
        raise MalformedError(f"the JSON body nests deeper than {max_depth} levels")
    try:
        # Numbers are not converted (`len` is cheap and has no digit limit): only the keys matter here.
        json.loads(body, object_pairs_hook=_refuse_repeated_keys, parse_int=len, parse_float=len)
    except ValueError:
        return  # not JSON: the body's own decoder says so, in its own words
    except _RepeatedKeyError as error:
        raise MalformedError(f"the JSON body has the key {error.key!r} twice in one object") from None


class _RepeatedKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> None:
    # Decoders keep the last of a repeated key, a signer's tool may have meant the first: refuse to guess.
    keys: set[str] = set()
    for key, _ in pairs:
        if key in keys:
            raise _RepeatedKeyError(key)
        keys.add(key)


async def read_json_body(raw: bytes, content_encoding: str | None = None) -> bytes:
    """`raw` decoded (`decode_body`) and checked (`check_json`) on a worker thread: a body of up to 10 MB keeps the
    event loop, and with it every other request, waiting for no one."""

    def decoded_and_checked() -> bytes:
        body = decode_body(raw, content_encoding)
        check_json(body)
        return body

    return await asyncio.to_thread(decoded_and_checked)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether Accept-Encoding allows gzip: named with q > 0, or not named and `*` allowed."""
    weights: dict[str, float] = {}
    for part in (accept_encoding or "").split(","):
        name, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name.strip():
            weights[name.strip().lower()] = weight
    if "gzip" in weights:
        return weights["gzip"] > 0
    return weights.get("*", 0.0) > 0


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=5, mtime=0)


class CheckedJsonRequest(Request[Any, Any, Any]):
    """The app's request class: the JSON that Litestar decodes for a handler's `data` is checked first."""

    async def json(self) -> Any:
        await asyncio.to_thread(check_json, await self.body())
        return await super().json()
