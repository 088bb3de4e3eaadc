"""What both sign-in doors (the token endpoint and the web form) share: the client
address behind trusted proxies, the limited attempt, and the wording of a refusal."""

from fastapi import Request
from sqlalchemy.orm import Session

from domain.rules.sign_in import forwarded_client, parse_networks, retry_after_seconds
from domain.services import sign_in
from domain.settings import Settings


def client_address(request: Request, settings: Settings) -> str | None:
    """The client's address (see `forwarded_client`); None without a socket peer."""
    if request.client is None:
        return None
    return forwarded_client(
        request.client.host,
        request.headers.getlist("x-forwarded-for"),
        parse_networks(settings.trusted_proxies),
    )


def attempt(
    request: Request, session: Session, settings: Settings, username: str, password: str
) -> sign_in.Outcome:
    """One counted try, committed (a failure is stored even though the answer refuses)."""
    outcome = sign_in.attempt(
        session=session,
        username=username,
        password=password,
        address=client_address(request, settings) or "unknown",
        limits=settings.sign_in_limits(),
    )
    session.commit()
    return outcome


def refusal_message(refusal: sign_in.Refusal) -> str:
    seconds = retry_after_seconds(refusal.wait)
    if seconds >= 120:
        when = f"{-(-seconds // 60)} minutes"
    else:
        when = f"{seconds} second{'s' if seconds != 1 else ''}"
    if refusal.locked:
        return (
            "too many failed sign-ins from this address: sign-in is locked here, "
            f"try again in {when} or ask an administrator to unlock it"
        )
    return f"too many failed sign-ins from this address: wait {when} before trying again"


def retry_after_header(refusal: sign_in.Refusal) -> dict[str, str]:
    return {"Retry-After": str(retry_after_seconds(refusal.wait))}
