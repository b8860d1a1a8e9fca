"""SMTP in two steps, so the sender knows whether a failure can have delivered the message.

``prepare`` (connect, TLS, login, MAIL FROM, RCPT TO) hands nothing over: any failure there is
safe to retry. ``transfer`` (DATA) is the only step after which a broken connection leaves the
outcome unknown. One connection serves a whole batch.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import parseaddr

from monitor.config import Settings


class Refused(Exception):
    """The server answered no: ``permanent`` (5xx) or temporary (4xx)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.permanent = 500 <= code < 600


def _text(raw: bytes | str) -> str:
    return (raw.decode(errors="replace") if isinstance(raw, bytes) else raw)[:300]


class SmtpSession:
    """A lazily opened connection to the configured server (STARTTLS/SSL, login from env)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=context
            )
        else:
            client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            client.ehlo()
            if s.smtp_security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if s.smtp_user and s.smtp_password:
                client.login(s.smtp_user, s.smtp_password.get_secret_value())
        except BaseException:
            client.close()
            raise
        return client

    def prepare(self, recipient: str) -> None:
        """Open (or reuse) the connection and announce one message to ``recipient``."""
        if self.client is None:
            self.client = self._open()
        sender = parseaddr(self.settings.smtp_from)[1] or self.settings.smtp_from
        code, reply = self.client.mail(sender)
        if code != 250:
            self.reset()
            raise Refused(code, _text(reply))
        code, reply = self.client.rcpt(recipient)
        if code not in (250, 251):
            self.reset()
            raise Refused(code, _text(reply))

    def transfer(self, msg: EmailMessage) -> None:
        """DATA: raises ``Refused`` if the server answered no, ``OSError``/``SMTPException`` if
        the connection broke (outcome unknown)."""
        if self.client is None:
            raise RuntimeError("transfer() before prepare()")
        try:
            code, reply = self.client.data(msg.as_bytes())
        except smtplib.SMTPDataError as exc:
            code, reply = exc.smtp_code, exc.smtp_error
        if code != 250:
            self.reset()
            raise Refused(code, _text(reply))

    def reset(self) -> None:
        """Abandon the current message but keep the connection when it still works."""
        if self.client is None:
            return
        try:
            self.client.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.quit()
        except (OSError, smtplib.SMTPException):
            self.client.close()
        self.client = None
