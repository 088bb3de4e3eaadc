"""Sign-in limits, pure: how long a (username, address) pair waits after its failures.

After `slow_after` failures inside the window every further try must wait, and the wait
doubles with each failure (1 s, 2 s, 4 s, ... by default). A try made before the wait is
over is refused at once with 429 and `Retry-After`, without checking the password and
without counting as a failure. Refusing rather than sleeping on the server was chosen
because a sleeping request holds a worker thread and a database connection: an attacker
opening many connections would starve the app, while a refusal costs nothing, and the
client learns exactly when to come back. At `lock_after` failures the pair is locked for
`lock_for`, even for the right password. Only that pair: the same user from another
address is untouched, so nobody can lock a colleague out from afar.
"""

from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network


@dataclass(frozen=True)
class SignInLimits:
    slow_after: int = 5
    first_wait: timedelta = timedelta(seconds=1)
    lock_after: int = 10
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


def wait_after(failures: int, limits: SignInLimits) -> timedelta:
    """How long after the last failure the next try is allowed; never beyond a lock."""
    if failures < limits.slow_after:
        return timedelta(0)
    doublings = min(failures - limits.slow_after, 32)  # bounded: 2**32 s is already past any lock
    return min(limits.first_wait * 2**doublings, limits.lock_for)


def retry_after_seconds(wait: timedelta) -> int:
    """`Retry-After` is whole seconds; round up so a client that obeys it is never early."""
    whole = int(wait.total_seconds())
    return max(1, whole + (1 if wait.total_seconds() > whole else 0))


def parse_networks(text: str) -> list[Network]:
    """'10.0.0.1, 10.1.0.0/16, ::1' as networks; a bad entry raises ValueError."""
    return [ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def forwarded_client(peer: str, forwarded_for: list[str], trusted: list[Network]) -> str:
    """The client address: the socket peer, unless the peer is a trusted proxy; then the
    right-most X-Forwarded-For hop that is not itself a trusted proxy. Hops left of that
    are written by the client and could be anything, so they are never believed."""

    def is_trusted(address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in trusted)

    if not is_trusted(peer):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        try:
            address = str(ip_address(hop))
        except ValueError:
            return peer  # garbage where a proxy should have written an address
        if not is_trusted(address):
            return address
    return address  # a chain of trusted proxies only: the first of them
