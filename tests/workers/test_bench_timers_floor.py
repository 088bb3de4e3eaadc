"""`plantops bench timers --floor`: the burst's bare watches on Temporal alone."""

from workers.bench_timers_floor import WATCHES, burst


async def test_every_bare_watch_wakes_once_at_or_after_its_moment(dev_env):
    woken = await burst(dev_env.client, count=3, after=1, rate=10)
    assert sorted(w.kind for w in woken) == sorted(WATCHES * 3)
    # Never before its due moment (one clock: this process's).
    assert all(w.late >= 0 for w in woken), woken
