"""Delivery channels: email through aiosmtplib, SMS, WhatsApp and voice through the
Twilio client. Each send returns the provider's id or raises."""

import socket
from email.message import EmailMessage
from functools import cache
from xml.sax.saxutils import escape

import aiosmtplib
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from domain.rules.alerts import Channel
from domain.settings import Settings

TWILIO_API = "https://api.twilio.com"


class _RebasedHttpClient(TwilioHttpClient):
    """Sends the Twilio client's requests to another base URL (a relay or a recorder)."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


@cache
def local_hostname() -> str:
    """The name this host greets a mail server with, looked up once (a DNS round trip):
    call it from a thread, not from the event loop."""
    return socket.getfqdn()


class Channels:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._twilio: TwilioClient | None = None

    def configured(self) -> set[Channel]:
        s = self.settings
        ready = {Channel.IN_APP}
        if s.smtp_host:
            ready.add(Channel.EMAIL)
        if s.twilio_account_sid and s.twilio_auth_token:
            if s.twilio_from_number:
                ready |= {Channel.SMS, Channel.VOICE}
            if s.twilio_whatsapp_from:
                ready.add(Channel.WHATSAPP)
        return ready

    def twilio(self) -> TwilioClient:
        if self._twilio is None:
            s = self.settings
            # Bounded: a provider that accepts the connection and never answers must not
            # hold a sending thread (and the activity waiting for it) for ever.
            timeout = s.provider_timeout_seconds
            http = (
                _RebasedHttpClient(s.twilio_api_base, timeout)
                if s.twilio_api_base
                else TwilioHttpClient(timeout=timeout)
            )
            self._twilio = TwilioClient(s.twilio_account_sid, s.twilio_auth_token, http_client=http)
        return self._twilio

    async def email(
        self, to: str, subject: str, body: str, key: str, local_hostname: str | None = None
    ) -> str:
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_from
        msg["To"] = to
        msg["Subject"] = subject
        # The outbox key doubles as the Message-ID, so a receiving system can spot repeats.
        msg["Message-ID"] = f"<{key.replace('/', '.')}@plantops>"
        msg.set_content(body)
        await aiosmtplib.send(
            msg,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            local_hostname=local_hostname,
            timeout=self.settings.provider_timeout_seconds,
        )
        return msg["Message-ID"]

    def sms(self, to: str, body: str) -> str:
        sent = self.twilio().messages.create(
            to=to, from_=self.settings.twilio_from_number, body=body[:1500]
        )
        return sent.sid

    def whatsapp(self, to: str, body: str) -> str:
        sent = self.twilio().messages.create(
            to=f"whatsapp:{to}", from_=f"whatsapp:{self.settings.twilio_whatsapp_from}", body=body
        )
        return sent.sid

    def voice(self, to: str, body: str) -> str:
        said = f"<Say>{escape(body)}</Say>"
        twiml = f'<Response>{said}<Pause length="1"/>{said}</Response>'  # said twice
        call = self.twilio().calls.create(
            to=to, from_=self.settings.twilio_from_number, twiml=twiml
        )
        return call.sid
