"""Email for the web platform: sign-in links, and messages for members who are away.

aiosmtplib sends on the event loop (no thread per email). A failure is a `DeliveryError`
the outbox retries; the sends keep to a steady rate so a check-in round to a thousand web
members does not trip a mail server's limits.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from adapters.ratelimit import Limiter, smooth
from adapters.web.settings import Smtp
from bot.ports import DeliveryError

log = logging.getLogger(__name__)

PER_SECOND = 5.0


class Mailer:
    def __init__(self, smtp: Smtp, per_second: float = PER_SECOND):
        self.smtp = smtp
        self.limiter = Limiter(smooth(per_second))

    async def send(self, to: str, subject: str, text: str, *, sender_name: str = "",
                   unsubscribe: str | None = None) -> None:
        message = EmailMessage()
        message["From"] = formataddr((sender_name, self.smtp.sender)) if sender_name else self.smtp.sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.smtp.sender.rpartition("@")[2] or None)
        if unsubscribe:
            # RFC 8058: mail clients offer a one-click "unsubscribe" that posts to this address.
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text)
        await self.limiter.wait("smtp")
        s = self.smtp
        try:
            await aiosmtplib.send(message, hostname=s.host, port=s.port, use_tls=s.tls,
                                  start_tls=None if not s.tls else False,
                                  username=s.user, password=s.password, timeout=30)
        except (aiosmtplib.SMTPException, OSError) as error:
            # The server's code, never its text: that quotes the address, which must not reach a log.
            code = getattr(error, "code", None) or getattr(error, "errno", None)
            raise DeliveryError(f"smtp: {type(error).__name__}" + (f" ({code})" if code else "")) from None
