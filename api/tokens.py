"""Bearer tokens: signed JWTs that name the user and expire."""

from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def issue(user_id: int, secret: str, ttl: timedelta, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": issued, "exp": issued + ttl, "typ": "access"}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read(token: str, secret: str) -> int:
    """The user id a valid token names."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError as err:
        raise TokenExpired from err
    except jwt.PyJWTError as err:
        raise TokenInvalid from err
    if claims.get("typ") != "access" or not str(claims.get("sub", "")).isdigit():
        raise TokenInvalid
    return int(claims["sub"])
