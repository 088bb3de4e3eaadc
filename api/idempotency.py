"""Idempotent retries: a write sent again with the same key is performed once.

API writes carry an `Idempotency-Key` header; web forms carry a hidden `idempotency_key`
field, a fresh one per rendered form. Keys are kept per user for a day (PostgreSQL, so
every API replica sees them). The first request with a key performs the action and its
answer is stored; the same key with the same request answers that stored status and body;
with another request it answers 422; a duplicate arriving while the first still runs waits
for its answer, or gets 409 if it takes too long. It is never performed twice."""

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import tokens, web
from api.errors import error_body
from domain.db import transaction
from domain.services import idempotency as service

HEADER = "Idempotency-Key"
FIELD = "idempotency_key"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
LEASE = timedelta(minutes=2)  # a request still unanswered after this is taken as dead
POLL_SECONDS = 0.1
T = TypeVar("T")


def _session_user(session: Any, *, sid: str) -> int | None:
    from domain.services import web_sessions

    user = web_sessions.user_for(session=session, token=sid, now=datetime.now(UTC))
    return user.id if user is not None else None


def new_key() -> str:
    return uuid.uuid4().hex


def install(app: FastAPI) -> None:
    """Registers the middleware (inside the session middleware, which must be added
    after it) and the `idempotency_key()` template function for forms."""
    app.add_middleware(IdempotencyMiddleware)
    web.templates.env.globals["idempotency_key"] = new_key


@dataclass(frozen=True)
class _Keyed:
    user_id: int
    key: str
    source: str  # the header or the form field, named in refusals
    fingerprint: str


def _valid(key: str) -> bool:
    return 0 < len(key) <= 200 and all(33 <= ord(c) <= 126 for c in key)


def _refuse(status: int, kind: str, message: str, field: str | None, **headers: str) -> Response:
    return JSONResponse(error_body(kind, message, field), status, headers=headers or None)


def _once(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _then(body: bytes, receive: Receive) -> Receive:
    """The buffered body once, then the client's own messages (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _form(scope: Scope, body: bytes) -> list[tuple[str, str]] | None:
    """The form's fields in order, files by name, type and digest; None if unreadable.
    Parsed rather than hashed raw: a multipart boundary differs on every submission."""
    try:
        async with Request(dict(scope), _once(body)).form() as form:
            items: list[tuple[str, str]] = []
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    digest = hashlib.sha256(await value.read()).hexdigest()
                    value = f"file {value.filename} {value.content_type} {digest}"
                items.append((name, value))
            return items
    except Exception:  # malformed: the route answers it as it would without a key
        return None


def _fingerprint(scope: Scope, canonical: bytes) -> str:
    head = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
    return hashlib.sha256(head.encode() + b"\n" + canonical).hexdigest()


def _canonical_json(body: bytes) -> bytes:
    """Key order and spacing do not make another request."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return body


def _bearer_claims(scope: Scope, headers: Headers) -> "tokens.Claims | None":
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return tokens.read_claims(token.strip(), scope["app"].state.secret_key)
    except (tokens.TokenExpired, tokens.TokenInvalid):
        return None  # the route refuses it with its own message


def _live_token_user(session: Any, *, user_id: int, token_id: str | None) -> int | None:
    """The user, if the token is not revoked and the user still active: a stored answer is
    never handed to a caller the route itself would refuse."""
    from domain.models import User
    from domain.services import revoked_tokens

    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if revoked_tokens.is_revoked(session=session, token_id=token_id):
        return None
    return user.id


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, wait_seconds: float = 15.0) -> None:
        self.app = app
        self.wait_seconds = wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        api = scope["path"].startswith(API_PREFIX)
        if api:
            key = headers.get(HEADER)
            claims = _bearer_claims(scope, headers) if key is not None else None
            user_id = claims.user_id if claims is not None else None
        else:
            key = None
            # The page's signed-in user is found from its server-side session below.
            sid = scope.get("session", {}).get("sid")
            user_id = sid if headers.get("content-type", "").startswith(FORMS) else None
        if user_id is None or (api and key is None):
            await self.app(scope, receive, send)
            return

        body = await _read(receive)
        receive = _then(body, receive)
        if api:
            kind = headers.get("content-type", "")
            if kind.startswith(FORMS):
                items = await _form(scope, body)
                canonical = json.dumps(items).encode() if items is not None else body
            else:
                canonical = _canonical_json(body) if "json" in kind else body
            source = HEADER
        else:
            items = await _form(scope, body)
            key = dict(items or []).get(FIELD)
            if key is None:  # a form without a key (sign-in): as before
                await self.app(scope, receive, send)
                return
            canonical = json.dumps(items).encode()
            source = FIELD
            user_id = await self._db(scope, _session_user, sid=user_id)
            if user_id is None:  # signed out: the page itself sends the user to sign in
                await self.app(scope, receive, send)
                return
        if not _valid(key):
            refusal = _refuse(
                422,
                "ValidationError",
                f"{source} must be 1 to 200 visible ASCII characters",
                source,
            )
            await refusal(scope, receive, send)
            return
        if api:
            user_id = await self._db(
                scope, _live_token_user, user_id=claims.user_id, token_id=claims.token_id
            )
            if user_id is None:  # revoked or disabled: the route answers 401 itself
                await self.app(scope, receive, send)
                return
        keyed = _Keyed(int(user_id), key, source, _fingerprint(scope, canonical))
        try:
            await self._once(keyed, scope, receive, send)
        except OperationalError:
            refusal = _refuse(
                503,
                "Unavailable",
                "the database is not reachable; retry with the same key",
                None,
                **{"Retry-After": "5"},
            )
            await refusal(scope, receive, send)

    async def _db(self, scope: Scope, work: Callable[..., T], **kwargs: Any) -> T:
        sessions = scope["app"].state.sessions

        def run() -> T:
            with transaction(sessions) as session:
                return work(session, **kwargs)

        return await run_in_threadpool(run)

    async def _once(self, k: _Keyed, scope: Scope, receive: Receive, send: Send) -> None:
        settings = scope["app"].state.settings
        ttl = timedelta(hours=settings.idempotency_ttl_hours)
        give_up = asyncio.get_running_loop().time() + self.wait_seconds
        while True:
            claimed = await self._db(
                scope,
                service.claim,
                user_id=k.user_id,
                key=k.key,
                method=scope["method"],
                path=scope["path"][:2000],
                fingerprint=k.fingerprint,
                now=datetime.now(UTC),
                ttl=ttl,
                lease=LEASE,
            )
            if claimed:
                await self._perform(k, scope, receive, send)
                return
            found = await self._db(scope, service.find, user_id=k.user_id, key=k.key)
            if found is None:  # released by a failed first attempt: claim it again
                continue
            if found.fingerprint != k.fingerprint:
                refusal = _refuse(
                    422,
                    "ValidationError",
                    f"this {k.source} was already used with another request; "
                    "use a new key for a new request",
                    k.source,
                )
                await refusal(scope, receive, send)
                return
            if found.answer is not None:
                await _replay(found.answer)(scope, receive, send)
                return
            if asyncio.get_running_loop().time() > give_up:
                refusal = _refuse(
                    409,
                    "Conflict",
                    f"a request with this {k.source} is still in progress; retry later",
                    k.source,
                    **{"Retry-After": "2"},
                )
                await refusal(scope, receive, send)
                return
            await asyncio.sleep(POLL_SECONDS)

    async def _perform(self, k: _Keyed, scope: Scope, receive: Receive, send: Send) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await self._db(scope, service.release, user_id=k.user_id, key=k.key)
            raise
        status = start.get("status", 500)
        if status >= 500:
            # A server fault is no answer: the action may not have happened, so the key
            # is freed for the retry.
            await self._db(scope, service.release, user_id=k.user_id, key=k.key)
            return
        headers = Headers(raw=start.get("headers", []))
        answer = service.Answer(
            status, headers.get("content-type"), headers.get("location"), b"".join(chunks)
        )
        await self._db(scope, service.finish, user_id=k.user_id, key=k.key, answer=answer)


def _replay(answer: service.Answer) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if answer.location:
        headers["Location"] = answer.location
    return Response(
        answer.body, answer.status_code, headers=headers, media_type=answer.content_type
    )
