"""The one permission table at every door: each API route and web form post declares the
action of seed 003 I.2 it takes (and, where a cell is qualified, which scopes it accepts),
and the same rule (`domain.rules.roles.permission_refusal`) decides for all of them and
for the workflows' validators.

A route declares its door with a dependency made here (`door`, `web_door`, `public`);
a form post whose action comes from the path (`/work-orders/{n}/do/{action}`) declares a
table of doors on its endpoint with `doors_by`. A test walks every route and fails on one
that declares nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError
from domain.actor import Actor
from domain.rules.roles import Action, Scope, permission_refusal


@dataclass(frozen=True)
class Door:
    action: Action | None  # None: open to anyone (sign-in, health, the login page)
    scopes: frozenset[Scope] | None = None  # None: any scope the role holds

    def refusal(self, actor: Actor) -> str | None:
        if self.action is None:
            return None
        return permission_refusal(actor.roles, self.action, self.scopes)


def door_of(action: Action, *scopes: Scope) -> Door:
    return Door(action, frozenset(scopes) if scopes else None)


PUBLIC = Door(None)


def enforce(actor: Actor, door: Door) -> Actor:
    refusal = door.refusal(actor)
    if refusal:
        raise ApiError(403, "NotAllowed", refusal)
    return actor


def door(action: Action, *scopes: Scope) -> Callable[..., Actor]:
    """Dependency for an API route: the bearer's actor, if the table lets it through."""
    from api.deps import CurrentActor

    declared = door_of(action, *scopes)

    async def check(actor: CurrentActor) -> Actor:  # pure: no trip to a worker thread
        return enforce(actor, declared)

    check.door = declared  # type: ignore[attr-defined]
    return check


def web_door(action: Action, *scopes: Scope) -> Callable[..., Actor]:
    """Dependency for a page or form post: the signed-in user's actor, same table."""
    from api.web import WebActor

    declared = door_of(action, *scopes)

    def check(actor: WebActor) -> Actor:
        return enforce(actor, declared)

    check.door = declared  # type: ignore[attr-defined]
    return check


def public() -> None:
    """Dependency marking a door open to anyone."""


public.door = PUBLIC  # type: ignore[attr-defined]


def doors_by(param: str, table: dict[str, Door]) -> Callable[[Any], Any]:
    """Declares, on an endpoint, the door of each value of one path parameter."""

    def mark(endpoint: Any) -> Any:
        endpoint.doors = (param, table)
        return endpoint

    return mark
