"""Sending messages to families: email through SMTP, SMS through a gateway's webhook.

Both are adapters behind one small ``Notifier`` protocol, so the reminder runner does not
care which it holds and tests can use a real local SMTP server. Neither logs an address or
a message body: those are patient-adjacent data.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from server.core.settings import Settings

# A mail server or gateway that has not answered in this long will not; the job is retried.
SEND_TIMEOUT_S = 20.0
SMTPS_PORT = 465


@dataclass(frozen=True)
class Message:
    to: str  # an email address or a phone number, as the channel needs
    subject: str
    text: str
    calendar: str | None = None  # an iCalendar file to attach where the channel can
    language: str = "en"  # the language the text is written in (BCP 47)


class Notifier(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver ``message`` or raise; raising leaves the job to be retried."""
        ...


class SmtpNotifier:
    """Email through an SMTP server (standard library, in a thread so the loop never waits)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password = user, password

    async def send(self, message: Message) -> None:
        await asyncio.wait_for(asyncio.to_thread(self._send, message), SEND_TIMEOUT_S)

    def _send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip(">") or None)
        email.set_content(message.text)
        if message.calendar is not None:
            email.add_attachment(message.calendar, subtype="calendar", filename="visit.ics")
        # After the parts: setting the content would drop a Content-* header set before it.
        email["Content-Language"] = message.language
        context = ssl.create_default_context()
        if self.port == SMTPS_PORT:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=SEND_TIMEOUT_S, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SEND_TIMEOUT_S)
        with smtp:
            smtp.ehlo()
            if self.port != SMTPS_PORT and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(email)


class SmsWebhookNotifier:
    """SMS through a gateway: a JSON POST of ``{"to", "text", "language"}`` to a configured
    URL (``language``: the text's BCP 47 tag, for gateways that pick an encoding by it)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def send(self, message: Message) -> None:
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(
                self.url,
                json={"to": message.to, "text": message.text, "language": message.language},
            ) as response,
        ):
            response.raise_for_status()


def default_sender(settings: Settings) -> str:
    host = urlsplit(settings.base_url).hostname or "localhost"
    return f"Hearth <no-reply@{host}>"


def notifiers_from(settings: Settings) -> Mapping[str, Notifier]:
    """The channels this server can send on, by name ("email", "sms")."""
    found: dict[str, Notifier] = {}
    if settings.smtp_host:
        found["email"] = SmtpNotifier(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from or default_sender(settings),
            user=settings.smtp_user,
            password=settings.smtp_password,
        )
    if settings.sms_webhook_url:
        found["sms"] = SmsWebhookNotifier(settings.sms_webhook_url)
    return found
