"""Compressed request bodies: decoded with a cap before any handler sees them (gzip bombs are a 413)."""

from __future__ import annotations

import functools
import gzip
import tracemalloc
import zlib
from collections.abc import Iterator

import httpx
import msgspec
import pytest

from signal_factory.api.limits import BadEncodingError, BodyTooLargeError, BoundedDecoder
from tests.api.records import failing_orders

LIMIT = 64_000  # max_body_bytes of the test servers
WRITES = ("/api/v1/records", "/api/v1/evidence", "/api/v1/deployments", "/api/v1/lineage")


@functools.cache
def _bomb(megabytes: int) -> bytes:
    """A valid gzip body of `megabytes` MiB of zeros at ~1,000:1: one deflate block for 1 MiB of zeros,
    repeated (a full flush makes every block identical), so it is built without inflating anything."""
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = z.compress(bytes(1 << 20)) + z.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zeros = bytes(1 << 20)
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    size = (megabytes << 20) & 0xFFFFFFFF
    return header + block * megabytes + z.flush() + crc.to_bytes(4, "little") + size.to_bytes(4, "little")


def _feed_all(decoder: BoundedDecoder, data: bytes, chunk: int) -> list[bytes]:
    out = []
    for i in range(0, len(data), chunk):
        out.append(decoder.feed(data[i:i + chunk]))
    decoder.finish()
    return out


@pytest.fixture
def writer(api_server_token: tuple[str, str]) -> Iterator[httpx.Client]:
    base, token = api_server_token
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.mark.parametrize("chunk", [1, 1_000, 1 << 20])
def test_decoder_never_inflates_past_the_cap(chunk: int) -> None:
    """A 1 GB gzip bomb fed in any chunk size yields at most cap + 1 bytes in total before it is refused."""
    bomb = _bomb(1024)
    assert len(bomb) < 1_100_000  # ~1 MB on the wire
    decoder = BoundedDecoder("gzip", 100_000)
    produced = 0

    def feed_all() -> None:
        nonlocal produced
        for i in range(0, len(bomb), chunk):
            produced += len(decoder.feed(bomb[i:i + chunk]))

    with pytest.raises(BodyTooLargeError):
        feed_all()
    assert produced <= 100_000  # what reached the caller
    assert decoder.total == 100_001  # zlib's max_length stopped inflating one byte past the cap


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_decoder_round_trips_bodies_up_to_the_cap(encoding: str) -> None:
    """A body of exactly the cap decodes to the original bytes, fed whole or byte by byte."""
    body = msgspec.json.encode(failing_orders(200))[:50_000]
    data = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    for chunk in (1, 7, len(data)):
        assert b"".join(_feed_all(BoundedDecoder(encoding, len(body)), data, chunk)) == body
    with pytest.raises(BodyTooLargeError):
        _feed_all(BoundedDecoder(encoding, len(body) - 1), data, 1)


def test_decoder_reads_every_gzip_member_and_rejects_broken_data() -> None:
    """Concatenated gzip members decode in full (as gzip.decompress does); truncated or foreign data is refused."""
    data = gzip.compress(b"[1,") + gzip.compress(b"2]") + b"\x00\x00"
    assert b"".join(_feed_all(BoundedDecoder("gzip", 100), data, 3)) == b"[1,2]"
    for broken in (data[:-12], b"not gzip at all", zlib.compress(b"x") + b"junk"):
        encoding = "deflate" if broken.startswith(b"x") else "gzip"
        with pytest.raises(BadEncodingError):
            _feed_all(BoundedDecoder(encoding, 100), broken, 4)


@pytest.mark.parametrize("path", WRITES)
def test_a_gzip_bomb_is_413_on_every_write_with_bounded_server_memory(writer: httpx.Client, path: str) -> None:
    """62 KB of gzip that inflates to 60 MiB: 413 problem+json naming the limit and the setting that raises
    it, and the server (same process, traced) never allocates anything near the inflated size."""
    bomb = _bomb(60)
    assert len(bomb) < LIMIT
    tracemalloc.start()
    try:
        r = writer.post(path, content=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert (problem["status"], problem["limit_bytes"]) == (413, LIMIT)
    assert f"{LIMIT:,} bytes after decompression" in problem["detail"]
    assert "--max-body-bytes" in problem["setting"]
    assert "--max-body-bytes" in problem["detail"]
    assert peak < 4_000_000, f"peak traced memory {peak:,} bytes while refusing a 60 MB bomb"
    assert writer.get("/api/v1/health").status_code == 200


def test_a_chunked_gzip_bomb_is_413(writer: httpx.Client) -> None:
    """The same bomb streamed without Content-Length is refused while it arrives."""
    bomb = _bomb(60)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(bomb), 4_096):
            yield bomb[i:i + 4_096]

    r = writer.post("/api/v1/records", content=chunks(), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert "after decompression" in r.json()["detail"]


def test_compressed_records_are_ingested(writer: httpx.Client) -> None:
    """A gzip (and a deflate) body under the cap is decoded and runs through the pipeline like a plain one."""
    r = writer.post("/api/v1/records", content=gzip.compress(msgspec.json.encode(failing_orders(5))),
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert (r.json()["records"], r.json()["evidence"]) == (5, 5)
    r = writer.post("/api/v1/records", content=zlib.compress(msgspec.json.encode(failing_orders(5, start_offset=9))),
                    headers={"Content-Encoding": "deflate"})
    assert r.status_code == 200, r.text
    assert r.json()["records"] == 5


@pytest.mark.parametrize(("encoding", "body", "status", "says"), [
    ("gzip", b"this is not gzip", 400, "not gzip data"),
    ("gzip", gzip.compress(b"[]")[:-4], 400, "truncated"),
    ("br", b"[]", 415, "'br' is not supported"),
    ("gzip, gzip", gzip.compress(gzip.compress(b"[]")), 415, "not supported"),
])
def test_bad_or_unknown_encodings_are_refused_with_a_reason(writer: httpx.Client, encoding: str, body: bytes,
                                                            status: int, says: str) -> None:
    """Broken compressed data is a 400, an encoding we do not decode a 415 listing the ones we do."""
    r = writer.post("/api/v1/lineage", content=body, headers={"Content-Encoding": encoding})
    assert r.status_code == status
    assert says in r.json()["detail"]
    if status == 415:
        assert r.headers["accept-encoding"] == "gzip, deflate"
