"""The one notifier every lifecycle calls: messages rendered for an audience, queued in the
outbox keyed by (record, step, event, channel, recipient) and delivered; a key already sent
is not sent again, so the activity can run twice. Each lifecycle describes who its
audiences are and how its messages read (a Subject)."""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channels, local_hostname
from activities.messages import digest_body
from domain.db import transaction
from domain.models import Notification, User
from domain.rules.alerts import Audience, Channel
from domain.services import outbox
from domain.settings import Settings

PARALLEL_SENDS = 8  # messages of one notice sent at once

# Sending threads are a pool of their own: a burst of notices never fills the worker loop's
# default pool, which the loop's own work (and any thread-borrowing client) needs.
_SENDERS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="plantops-send")


@dataclass
class Send:
    channel: str
    audience: str


@dataclass
class NotifyInput:
    reference: str
    organization_id: int
    step: int
    event: str
    sends: list[Send]
    context: dict[str, Any] = field(default_factory=dict)
    digest: str | None = None
    digest_audience: list[str] = field(default_factory=list)
    entity: str = "ANOMALY"  # the Subject that resolves audiences and renders the texts


@dataclass
class NotifyOutput:
    queued: int
    sent: int
    held: int


@dataclass
class DigestInput:
    kind: str  # SUMMARY or DAILY
    stamp: str  # the schedule's fire time, so a retried digest is the same message


@dataclass(frozen=True)
class Subject:
    """What one lifecycle tells the notifier: its record, who each audience is, the text."""

    entity: str
    load: Callable[[Session, int, str], Any]  # (session, organization id, reference) -> record
    audience: Callable[[Session, Any, Audience, datetime], list[User]]
    render: Callable[[str, Channel, Any, User, dict[str, Any]], tuple[str, str]]


class Notifier:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        channels: Channels | None = None,
        subjects: list[Subject] | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.channels = channels or Channels(settings)
        if subjects is None:
            from activities.anomalies import ANOMALY_SUBJECT

            subjects = [ANOMALY_SUBJECT]
        self.subjects = {s.entity: s for s in subjects}

    @activity.defn
    async def notify(self, data: NotifyInput) -> NotifyOutput:
        keys = await asyncio.to_thread(self._enqueue, data)
        return await self.deliver(keys)

    @activity.defn
    def queue(self, data: NotifyInput) -> list[str]:
        """Run as a local activity beside the step: the messages queued in the outbox; the
        keys still waiting for a provider, for deliver_queued. In-app notices are their row."""
        with transaction(self.sessions) as session:
            return self.queue_in(session, data)

    @activity.defn
    async def deliver_queued(self, keys: list[str]) -> NotifyOutput:
        return await self.deliver(keys)

    def _enqueue(self, data: NotifyInput) -> list[str]:
        with transaction(self.sessions) as session:
            messages = self._messages(session, data)
            outbox.enqueue(session, messages, self.channels.configured())
            return [m.key for m in messages]

    def queue_in(self, session: Session, data: NotifyInput, record: Any = None) -> list[str]:
        """Queue in the caller's transaction (a step's, so its notices commit with it); the
        record already loaded there is reused. The keys still waiting for a provider."""
        messages = self._messages(session, data, record)
        return outbox.enqueue(session, messages, self.channels.configured())

    def _messages(
        self, session: Session, data: NotifyInput, record: Any = None
    ) -> list[outbox.Message]:
        subject = self.subjects[data.entity]
        now = datetime.now(UTC)
        if record is None:
            record = subject.load(session, data.organization_id, data.reference)
        messages: list[outbox.Message] = []
        seen: set[tuple[str, int]] = set()
        plan = [(s.channel, s.audience, None) for s in data.sends] + [
            (Channel.EMAIL.value, a, data.digest) for a in data.digest_audience
        ]
        # Each audience is looked up once, however many channels reach it (an H1 alert
        # tells the on-duty supervisor by SMS and WhatsApp, an escalation by three).
        people: dict[str, list[User]] = {}
        for channel_name, audience_name, digest in plan:
            channel = Channel(channel_name)
            if audience_name not in people:
                who = Audience(audience_name)
                people[audience_name] = subject.audience(session, record, who, now)
            for user in people[audience_name]:
                if (channel_name, user.id) in seen:
                    continue
                seen.add((channel_name, user.id))
                title, body = subject.render(data.event, channel, record, user, data.context)
                messages.append(
                    outbox.Message(
                        key=f"{data.reference}/{data.step}/{data.event}/{channel_name}/{user.id}",
                        organization_id=data.organization_id,
                        reference=data.reference,
                        event=data.event,
                        channel=channel,
                        recipient=user,
                        subject=title,
                        body=body,
                        digest=digest,
                    )
                )
        return messages

    async def deliver(self, keys: list[str]) -> NotifyOutput:
        info = activity.info() if activity.in_activity() else None
        final = bool(
            info
            and info.retry_policy
            and info.retry_policy.maximum_attempts
            and info.attempt >= info.retry_policy.maximum_attempts
        )
        ids = await asyncio.to_thread(self._pending_ids, keys)
        # Side by side (a few at a time): an escalation's SMS does not wait for its email.
        gate = asyncio.Semaphore(PARALLEL_SENDS)

        async def one(notification_id: int) -> str:
            async with gate:
                return await self._deliver(notification_id, final)

        outcomes = await asyncio.gather(*(one(i) for i in ids))
        errors = [e for e in outcomes if e != "SENT"]
        if errors and not final:
            # Raise so Temporal retries; rows already sent stay SENT and are skipped.
            raise ApplicationError(f"{len(errors)} message(s) not delivered: {errors[0]}")
        counts = await asyncio.to_thread(self._counts, keys)
        return NotifyOutput(len(keys), counts.get("SENT", 0), counts.get("HELD", 0))

    async def _deliver(self, notification_id: int, final_attempt: bool) -> str:
        """SENT, or the error text. Claim, send and record in one thread (one hop off the
        worker's event loop per message, which keeps running workflow tasks meanwhile);
        the row lock is held while the provider is called."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            _SENDERS, self._deliver_one, notification_id, final_attempt
        )

    def _deliver_one(self, notification_id: int, final_attempt: bool) -> str:
        with self.sessions() as session:  # closing rolls back whatever was not committed
            row = self._claim(session, notification_id)
            if row is None:
                return "SENT"
            row.attempts += 1
            try:
                row.provider_id = self._send(row)
            except Exception as err:  # any provider failure is recorded and retried
                row.last_error = f"{type(err).__name__}: {err}"[:2000]
                if final_attempt:
                    row.status = "FAILED"
                session.commit()
                return row.last_error
            row.status = "SENT"
            row.sent_at = datetime.now(UTC)
            row.last_error = None
            session.commit()
            return "SENT"

    @staticmethod
    def _claim(session: Session, notification_id: int) -> Notification | None:
        session.begin()
        return outbox.claim(session, notification_id)

    def _send(self, row: Notification) -> str:
        """From a sending thread, which owns the whole send: the Twilio client blocks here,
        and an email goes through an SMTP client on a loop of the thread's own (no wait on
        the worker's loop; the thread ends only when the client has ended, within its own
        timeouts, so a message given up is never still being sent)."""
        channel = Channel(row.channel)
        if channel is Channel.EMAIL:
            return asyncio.run(
                self.channels.email(row.address, row.subject, row.body, row.key, local_hostname())
            )
        send = {
            Channel.SMS: self.channels.sms,
            Channel.WHATSAPP: self.channels.whatsapp,
            Channel.VOICE: self.channels.voice,
        }[channel]
        return send(row.address, row.body)

    def _pending_ids(self, keys: list[str]) -> list[int]:
        with self.sessions() as session:
            return outbox.pending_ids(session, keys)

    def _counts(self, keys: list[str]) -> dict[str, int]:
        with self.sessions() as session:
            return dict(
                session.execute(
                    select(Notification.status, func.count())
                    .where(Notification.key.in_(keys))
                    .group_by(Notification.status)
                ).all()
            )

    def _compose_digests(self, data: DigestInput) -> list[str]:
        """One email per recipient gathering the anomalies queued for this digest."""
        title = "Anomaly summary" if data.kind == "SUMMARY" else "Daily anomaly digest"
        with transaction(self.sessions) as session:
            rows = session.scalars(
                select(Notification)
                .where(Notification.status == "DIGEST", Notification.digest == data.kind)
                .order_by(Notification.id)
                .with_for_update(skip_locked=True)
            ).all()
            grouped: dict[tuple[int, int], list[Notification]] = defaultdict(list)
            for row in rows:
                grouped[(row.organization_id, row.recipient_id)].append(row)
            messages = []
            for (org, user_id), items in grouped.items():
                user = session.get(User, user_id)
                key = f"digest/{data.kind}/{data.stamp}/{user_id}"
                body = digest_body(user, title, items, self.settings.web_url)
                messages.append(
                    outbox.Message(
                        key,
                        org,
                        None,
                        f"{data.kind}_DIGEST",
                        Channel.EMAIL,
                        user,
                        f"{title}: {len(items)} anomalies",
                        body,
                    )
                )
                for item in items:
                    item.status, item.provider_id = "SENT", key
                    item.sent_at = datetime.now(UTC)
            outbox.enqueue(session, messages, self.channels.configured())
            return [m.key for m in messages]

    @activity.defn
    async def send_digest(self, data: DigestInput) -> NotifyOutput:
        keys = await asyncio.to_thread(self._compose_digests, data)
        return await self.deliver(keys)
