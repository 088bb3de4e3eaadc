"""The floor `plantops bench pm` prints beside its own figures: bare sleepers woken at one
minute, on the real dev server."""

from datetime import UTC, datetime, timedelta

from workers.bench_pm_floor import floor


async def test_the_floor_wakes_every_sleeper_after_the_due_moment(dev_env, task_queue, capsys):
    due = datetime.now(UTC) + timedelta(seconds=2)
    late = await floor(dev_env.client, 5, task_queue, cached=10, due=due)
    assert late >= 0, "none completed before its due moment"
    printed = capsys.readouterr().out
    assert "5 bare workflows started" in printed and "every one woken and done" in printed
