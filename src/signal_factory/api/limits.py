"""`BodyLimitMiddleware`: request bodies limited on the wire and after decompression.

A declared Content-Length over the limit is refused before the app runs; a chunked body is counted as
it arrives. A `Content-Encoding: gzip` (or `deflate`) body is decoded here, chunk by chunk, by
`BoundedDecoder`, which never produces more than the limit: a 1 MB gzip bomb that would inflate to
1 GB is refused after `limit` decoded bytes, so the app never holds more than that. The app sees the
decoded body with no Content-Encoding header. Refusals are RFC 9457 problem+json (`detail` says what,
`limit_bytes` the limit, `setting` what raises it).
"""

from __future__ import annotations

import zlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signal_factory.api.problems import send_problem

#: What raises the limit, named in every 413.
LIMIT_SETTING = "signal-factory serve --max-body-bytes (env SIGNAL_FACTORY_MAX_BODY_BYTES)"
#: Content-Encoding -> zlib `wbits`: gzip (RFC 1952, also several members in a row), deflate (RFC 1950
#: zlib format, as HTTP defines it).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
SUPPORTED_ENCODINGS = ("gzip", "deflate")


class BodyTooLargeError(Exception):
    """The decoded body passed the limit."""


class BadEncodingError(Exception):
    """The body is not data of its declared Content-Encoding."""


class BoundedDecoder:
    """Decode one gzip/deflate body fed in chunks; raise `BodyTooLargeError` as soon as the output passes
    `limit` bytes. Each `feed` returns at most `limit + 1 - (bytes already returned)` bytes: zlib's
    `max_length` stops inflating there, so a bomb is never expanded beyond the limit in memory."""

    def __init__(self, encoding: str, limit: int) -> None:
        if encoding not in _WBITS:
            raise ValueError(f"unsupported Content-Encoding {encoding!r}")
        self.limit = limit
        self.total = 0
        self._wbits = _WBITS[encoding]
        self._multi_member = self._wbits > zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(self._wbits)
        self._fed = False

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            self._fed = True
            try:
                chunk = self._inflate.decompress(data, self.limit - self.total + 1)
            except zlib.error as e:
                raise BadEncodingError(str(e)) from e
            self.total += len(chunk)
            if self.total > self.limit:
                raise BodyTooLargeError
            out.append(chunk)
            if not self._inflate.eof:
                data = self._inflate.unconsumed_tail
                continue
            data = self._inflate.unused_data
            if not data.strip(b"\x00"):  # gzip allows zero padding after the last member
                break
            if not self._multi_member:
                raise BadEncodingError("data after the end of the deflate stream")
            self._inflate = zlib.decompressobj(self._wbits)  # the next gzip member
        return b"".join(out)

    def finish(self) -> None:
        """The body ended: it must have ended a complete stream (an empty body is allowed)."""
        if self._fed and not self._inflate.eof:
            raise BadEncodingError("the compressed body is truncated")


class _RefusedError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class BodyLimitMiddleware:
    """Pure ASGI: bodies over `max_body_bytes` on the wire, or after decoding, are a 413; a body that is
    not valid data of its Content-Encoding is a 400; an encoding other than gzip/deflate is a 415."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        encodings: list[str] = []
        for name, value in headers:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_body_bytes):
                await self._refuse(send, 413, self._too_large(f"Content-Length {value.decode('latin-1')!r}"))
                return
            if name == b"content-encoding":
                encodings += [e.strip().lower() for e in value.decode("latin-1").split(",")]
        encodings = [e for e in encodings if e and e != "identity"]
        decoder: BoundedDecoder | None = None
        if encodings:
            if len(encodings) > 1 or encodings[0] not in _WBITS:
                await self._refuse(send, 415, f"Content-Encoding {', '.join(encodings)!r} is not supported; send "
                                              f"the body as is, gzip or deflate",
                                   [(b"accept-encoding", ", ".join(SUPPORTED_ENCODINGS).encode())])
                return
            decoder = BoundedDecoder(encodings[0], self.max_body_bytes)
            scope = {**scope, "headers": [(n, v) for n, v in headers
                                          if n not in (b"content-encoding", b"content-length")]}
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] != "http.request":
                return message
            body: bytes = message.get("body", b"")
            received += len(body)
            if received > self.max_body_bytes:
                raise _RefusedError(413, self._too_large(f"a streamed body of more than {received:,} bytes"))
            if decoder is None:
                return message
            try:
                decoded = decoder.feed(body)
                if not message.get("more_body", False):
                    decoder.finish()
            except BodyTooLargeError:
                raise _RefusedError(413, self._too_large(f"a {encodings[0]} body that decompresses to more than "
                                                         f"{self.max_body_bytes:,} bytes (from {received:,} bytes "
                                                         "on the wire so far)", decoded=True)) from None
            except BadEncodingError as e:
                raise _RefusedError(400, f"Content-Encoding is {encodings[0]} but the body is not {encodings[0]} "
                                         f"data: {e}") from None
            return {**message, "body": decoded}

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _RefusedError as e:
            if not started:
                await self._refuse(send, e.status, e.detail)

    def _too_large(self, what: str, *, decoded: bool = False) -> str:
        after = " after decompression" if decoded else ""
        return (f"request body too large: {what}; the limit is {self.max_body_bytes:,} bytes{after} (raise it "
                f"with {LIMIT_SETTING}, or split the upload into smaller requests)")

    async def _refuse(self, send: Send, status: int, detail: str,
                      extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
        problem: dict[str, Any] = {"type": "about:blank", "title": _TITLES[status], "status": status,
                                   "detail": detail}
        if status == 413:
            problem.update(limit_bytes=self.max_body_bytes, setting=LIMIT_SETTING)
        await send_problem(send, problem, [(b"connection", b"close"), *(extra_headers or [])])


_TITLES = {400: "Bad Request", 413: "Content Too Large", 415: "Unsupported Media Type"}
