"""The outbox: keyed rows, delivery through real SMTP and the Twilio client, retries."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifier import Notifier, NotifyInput, Send
from domain.models import Notification
from tests.anomaly_helpers import register


def _input(ref: str, org: int = 1, step: int = 7) -> NotifyInput:
    return NotifyInput(
        ref,
        org,
        step,
        "ALERT",
        [
            Send("EMAIL", "TEAM_LEAD"),
            Send("SMS", "ON_DUTY_SUPERVISOR"),
            Send("IN_APP", "RELEVANT_TECHNICIANS"),
        ],
        {"alert": "H2"},
    )


def _rows(sessions) -> list[Notification]:
    with sessions() as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)).all())


async def test_a_retried_activity_sends_once(sessions, notify_settings, smtp, twilio_recorder):
    ref = register(sessions)
    acts = Notifier(sessions, notify_settings)
    env = ActivityEnvironment()
    first = await env.run(acts.notify, _input(ref))
    again = await env.run(acts.notify, _input(ref))  # the same step, as a retry sends it
    assert first.sent == again.sent and first.queued == again.queued
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "supervisor@example.com"
    assert f"[{ref}]" in smtp.messages[0]["Subject"]
    assert [r["To"] for r in twilio_recorder.of_kind("message")] == ["+16015550104"]
    rows = _rows(sessions)
    assert {r.channel for r in rows} == {"EMAIL", "SMS", "IN_APP"}
    assert all(r.status == "SENT" and r.attempts <= 1 for r in rows)


async def test_provider_failure_is_recorded_then_retried(
    sessions, notify_settings, smtp, twilio_recorder
):
    ref = register(sessions)
    acts = Notifier(sessions, notify_settings)
    smtp.refuse_next = 1
    twilio_recorder.fail_next = 5  # the Twilio client itself retries nothing: one 500 per try
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.notify, _input(ref))
    assert "not delivered" in str(err.value)
    failed = {r.channel: r for r in _rows(sessions) if r.channel != "IN_APP"}
    assert failed["EMAIL"].status == "PENDING" and "451" in failed["EMAIL"].last_error
    assert failed["SMS"].status == "PENDING" and failed["SMS"].attempts == 1
    twilio_recorder.fail_next = 0
    await ActivityEnvironment().run(acts.notify, _input(ref))  # Temporal's retry
    rows = {r.channel: r for r in _rows(sessions)}
    assert rows["EMAIL"].status == "SENT" and rows["EMAIL"].attempts == 2
    assert rows["SMS"].status == "SENT" and rows["SMS"].last_error is None
    assert len(smtp.messages) == 1 and len(twilio_recorder.of_kind("message")) == 1


async def test_without_a_provider_messages_are_held(sessions, settings):
    ref = register(sessions)
    acts = Notifier(sessions, settings)  # no SMTP, no Twilio
    result = await ActivityEnvironment().run(acts.notify, _input(ref))
    rows = _rows(sessions)
    assert {r.channel: r.status for r in rows} == {"EMAIL": "HELD", "SMS": "HELD", "IN_APP": "SENT"}
    assert result.held == 2


async def test_digest_messages_wait_for_their_digest(sessions, settings):
    ref = register(sessions)
    acts = Notifier(sessions, settings)
    data = NotifyInput(ref, 1, 3, "ALERT", [], {}, "DAILY", ["TEAM_LEAD"])
    await ActivityEnvironment().run(acts.notify, data)
    rows = _rows(sessions)
    assert [(r.channel, r.status, r.digest) for r in rows] == [("EMAIL", "DIGEST", "DAILY")]
    assert rows[0].created_at <= datetime.now(UTC)


async def test_an_audience_reached_by_several_channels_is_looked_up_once(
    engine, sessions, notify_settings, smtp, twilio_recorder
):
    """An escalation tells the supervisor by email, SMS and in-app: one lookup of who that
    is (its people with their clearances and shift, not their skills), not one per channel."""
    ref = register(sessions)
    lookups: list[str] = []
    skills: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM users" in statement:
            lookups.append(statement)
        if "FROM user_skills" in statement or "FROM certifications" in statement:
            skills.append(statement)

    data = NotifyInput(
        ref,
        1,
        8,
        "ESCALATED",
        [Send(c, "ON_DUTY_SUPERVISOR") for c in ("EMAIL", "SMS", "IN_APP")],
        {"assignee": "Sam Supervisor"},
    )
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await ActivityEnvironment().run(Notifier(sessions, notify_settings).notify, data)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert {r.channel for r in _rows(sessions)} == {"EMAIL", "SMS", "IN_APP"}
    assert len(lookups) == 1, lookups
    assert not skills, skills


async def test_an_sms_does_not_wait_for_the_email_beside_it(
    sessions, notify_settings, smtp, twilio_recorder
):
    """An escalation's email and SMS go out side by side: a mail server that is slow to
    answer holds the email, not the text message to the supervisor's phone."""
    ref = register(sessions)
    smtp.gate = threading.Event()
    data = NotifyInput(
        ref,
        1,
        9,
        "ESCALATED",
        [Send(c, "ON_DUTY_SUPERVISOR") for c in ("EMAIL", "SMS")],
        {"assignee": "Sam Supervisor"},
    )
    sending = asyncio.create_task(
        ActivityEnvironment().run(Notifier(sessions, notify_settings).notify, data)
    )
    try:
        for _ in range(500):  # the SMS arrives while the email is still held
            if twilio_recorder.of_kind("message") or sending.done():
                break
            await asyncio.sleep(0.02)
        assert [r["To"] for r in twilio_recorder.of_kind("message")] == ["+16015550104"]
        assert not smtp.messages
    finally:
        smtp.gate.set()
    result = await sending
    assert result.sent == 2 and len(smtp.messages) == 1


def test_notices_at_once_never_wait_on_the_threads_their_emails_need(
    sessions, notify_settings, smtp, twilio_recorder
):
    """More emails in flight than the event loop has default threads: a sending thread waits
    for the loop's mail client, which itself borrows a default thread, so the senders must
    not be default threads (they were, and a burst of notices stalled their activities)."""
    refs = [register(sessions) for _ in range(4)]
    acts = Notifier(sessions, notify_settings)

    async def burst() -> list:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=2))
        env = ActivityEnvironment()
        sends = [Send("EMAIL", "TEAM_LEAD"), Send("EMAIL", "ON_DUTY_SUPERVISOR")]
        notices = [NotifyInput(ref, 1, 7, "ALERT", sends, {"alert": "H2"}) for ref in refs]
        return await asyncio.wait_for(
            asyncio.gather(*(env.run(acts.notify, n) for n in notices)), timeout=15
        )

    results = asyncio.run(burst())  # a loop of its own, with two default threads
    assert [r.sent for r in results] == [r.queued for r in results]
    assert len(smtp.messages) == sum(r.sent for r in results) >= 4


class _Silent:
    """A server that accepts connections and never says a word."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        import socket

        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, which then ends
        self.sock.close()
        for conn in self.accepted:
            conn.close()


async def test_a_provider_that_never_answers_does_not_hold_the_send(sessions, notify_settings):
    """The mail server and Twilio each accept the connection and then say nothing: the
    message is recorded as not sent (and kept for the next try) once the provider timeout
    passes, instead of holding its sending thread and the activity for ever."""
    mail, twilio = _Silent(), _Silent()
    settings = notify_settings.model_copy(
        update={
            "smtp_port": mail.port,
            "twilio_api_base": f"http://127.0.0.1:{twilio.port}",
            "provider_timeout_seconds": 0.5,
        }
    )
    ref = register(sessions)
    data = NotifyInput(
        ref, 1, 11, "ESCALATED", [Send(c, "ON_DUTY_SUPERVISOR") for c in ("EMAIL", "SMS")], {}
    )
    try:
        with pytest.raises(ApplicationError) as err:
            await asyncio.wait_for(
                ActivityEnvironment().run(Notifier(sessions, settings).notify, data), timeout=15
            )
    finally:
        mail.close()
        twilio.close()
    assert "2 message(s) not delivered" in str(err.value)
    rows = {r.channel: r for r in _rows(sessions) if r.key.startswith(f"{ref}/")}
    assert rows["EMAIL"].status == rows["SMS"].status == "PENDING"
    assert "Timeout" in rows["EMAIL"].last_error and "Timeout" in rows["SMS"].last_error
