"""How long the supervisor waits before restarting a crashed process: pure, no I/O."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial: float = 1.0  # seconds before the first restart
    factor: float = 2.0
    cap: float = 30.0  # never wait longer: an outage should not leave a part down for long
    stable_after: float = 60.0  # a run this long means the crash is new, not a loop

    def delay(self, crashes: int) -> float:
        """The wait before restarting after `crashes` consecutive crashes (1 for the first)."""
        if crashes < 1:
            raise ValueError("crashes counts from 1")
        # min() on the exponent too, so a long crash loop never overflows the float.
        return min(self.cap, self.initial * self.factor ** min(crashes - 1, 64))

    def crashes_after(self, previous: int, uptime: float) -> int:
        """The consecutive-crash count once a process that ran `uptime` seconds has died."""
        return 1 if uptime >= self.stable_after else previous + 1
