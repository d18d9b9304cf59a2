"""The email channel: mail through SMTP (aiosmtplib)."""

from __future__ import annotations

__all__ = ["EmailSender"]

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from arb.events import NS_PER_S
from arb.ops.alerts.channels import Sender, SendError


class EmailSender(Sender):
    """Mail through SMTP with aiosmtplib: ``security`` "starttls", "tls" (implicit) or "none"."""

    name = "email"

    def __init__(self, *, host: str, port: int, sender: str, to: Sequence[str], username: str = "",
                 password: str = "", security: str = "starttls", route: str = "critical",
                 min_interval_ns: int = 10 * NS_PER_S, timeout_ns: int = 30 * NS_PER_S) -> None:  # fmt: skip
        super().__init__(route=route, min_interval_ns=min_interval_ns, timeout_ns=timeout_ns)
        self.host, self.port, self.sender, self.to = host, port, sender, tuple(to)
        self.username = username
        self._password = password
        self.security = security

    def redact(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    async def deliver(self, text: str, subject: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message.set_content(text)
        try:
            await aiosmtplib.send(
                message, hostname=self.host, port=self.port, username=self.username or None,
                password=self._password or None, use_tls=self.security == "tls",
                start_tls=self.security == "starttls", timeout=self.timeout_ns / NS_PER_S,
            )  # fmt: skip
        except aiosmtplib.SMTPResponseException as error:
            code = int(error.code)
            raise SendError(self.redact(f"SMTP {code}: {error.message}"), retryable=400 <= code < 500) from None
        except aiosmtplib.SMTPException as error:
            raise SendError(f"SMTP failed ({type(error).__name__})", retryable=True) from None
        except OSError as error:
            raise SendError(f"SMTP connection failed ({type(error).__name__})", retryable=True) from None
