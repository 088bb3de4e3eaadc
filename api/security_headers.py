"""Security headers on every answer, pages and API alike. Scripts come only from the
app's own /static files: no inline script runs, so injected markup cannot run either."""

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # style attributes in the templates
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": POLICY,
}
# The interactive API docs are third-party pages with one inline script each: that
# script alone is allowed, by its hash, with the CDN they load from.
DOCS_PATHS = {"/docs", "/redoc", "/docs/oauth2-redirect"}
DOCS_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def docs_policy(html: bytes) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {DOCS_CDN} {hashes}; "
        f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; img-src 'self' data: https:; "
        "worker-src blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )


def _with_headers(message: Message, policy: str | None = None) -> Message:
    present = {k.lower() for k, _ in message.get("headers", [])}
    headers = list(message.get("headers", []))
    for name, value in HEADERS.items():
        if name == "content-security-policy" and policy:
            value = policy
        if name.encode() not in present:
            headers.append((name.encode(), value.encode()))
    return {**message, "headers": headers}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in DOCS_PATHS:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_headers(message)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffers the (small) docs page to hash its inline script."""
        start: Message = {}
        body = bytearray()

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, collect)
        await send(_with_headers(start, docs_policy(bytes(body))))
        await send({"type": "http.response.body", "body": bytes(body)})
