"""Who is acting: travels with every service call, update and audit row."""

from dataclasses import dataclass, field

from domain.rules.roles import primary_role


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    full_name: str
    organization_id: int
    roles: tuple[str, ...] = field(default_factory=tuple)
    ip_address: str | None = None

    @property
    def role(self) -> str:
        return primary_role(self.roles)


def system_actor(organization_id: int, name: str = "system") -> Actor:
    """The platform itself, for changes no person made (imports, demo load, timers)."""
    return Actor(None, name, "plantops " + name, organization_id, ("SYSTEM",))
