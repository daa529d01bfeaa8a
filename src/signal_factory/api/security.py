"""Security headers on every response: a Content-Security-Policy that allows only our own scripts,
styles, images and API calls, `X-Content-Type-Options: nosniff`, no framing, and no referrer.

The web UI and every asset are served from this origin (no CDN), so `'self'` is enough. Styles allow
`'unsafe-inline'` because the UI sets `style=` attributes on the SVG graph it draws; scripts never do.
Swagger UI and ReDoc start from an inline `<script>` FastAPI writes, so /docs and /redoc (only) also
allow inline scripts, and ReDoc's web worker (`blob:`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BASE = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
         "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
CSP = f"{_BASE}; script-src 'self'"
CSP_DOCS = f"{_BASE}; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
DOC_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
_COMMON = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer")]


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response (pure ASGI: streaming responses pass through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (CSP_DOCS if scope.get("path") in DOC_PATHS else CSP).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                message["headers"] = [*headers, *_COMMON, (b"content-security-policy", csp)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


_OURS = frozenset({k for k, _ in _COMMON} | {b"content-security-policy"})
