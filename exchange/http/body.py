"""Reading a request body: identity or gzip, never more than the limit once decompressed."""

from __future__ import annotations

import gzip
import zlib

from exchange.http.problems import PayloadTooLargeError, UnsupportedMediaTypeError
from exchange.kernel.errors import MalformedError

MAX_BODY = 10 * 1024 * 1024  # 10 MB uncompressed, per request and response (IDX)
_CHUNK = 64 * 1024


def decode_body(raw: bytes, content_encoding: str | None, limit: int = MAX_BODY) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        if len(raw) > limit:
            raise PayloadTooLargeError(f"the body is {len(raw)} bytes; the limit is {limit}")
        return raw
    if encoding == "gzip":
        return gunzip_capped(raw, limit)
    raise UnsupportedMediaTypeError(f"Content-Encoding {content_encoding!r} is not supported; use gzip or identity")


def gunzip_capped(raw: bytes, limit: int) -> bytes:
    """Decompress gzip members one bounded step at a time, so a gzip bomb stops at the limit, not in memory."""
    out = bytearray()
    data = raw
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = data
        while not inflater.eof:
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
