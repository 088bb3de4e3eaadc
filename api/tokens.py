"""Bearer tokens: signed JWTs that name the user and expire."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

ALGORITHM = "HS256"


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def issue(user_id: int, secret: str, ttl: timedelta, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + ttl,
        "typ": "access",
        "jti": secrets.token_urlsafe(16),  # names the token, so it can be revoked alone
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True)
class Claims:
    user_id: int
    token_id: str | None  # None for tokens issued before tokens were named
    expires_at: datetime


def read(token: str, secret: str) -> int:
    """The user id a valid token names."""
    return read_claims(token, secret).user_id


def read_claims(token: str, secret: str, now: datetime | None = None) -> Claims:
    claims = _verified(token, secret)
    if claims.expires_at <= (now or datetime.now(UTC)):  # as the JWT library judges `exp`
        raise TokenExpired
    return claims


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> Claims:
    """Signature and shape, checked once per token (a signed token's claims never change;
    only its expiry moves, and that is judged at each use). Refusals are not kept."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp"], "verify_exp": False},
        )
    except jwt.PyJWTError as err:
        raise TokenInvalid from err
    if claims.get("typ") != "access" or not str(claims.get("sub", "")).isdigit():
        raise TokenInvalid
    jti = claims.get("jti")
    try:
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    except (TypeError, ValueError, OverflowError) as err:
        raise TokenInvalid from err
    return Claims(
        int(claims["sub"]),
        jti if isinstance(jti, str) and 0 < len(jti) <= 64 else None,
        expires_at,
    )
