"""Logging set-up that keeps secrets out of the logs, whatever a library prints."""

from __future__ import annotations

import logging
import os
import re

SECRET_NAME = re.compile(r"(PASSWORD|TOKEN|SECRET|API_KEY|ACCESS_KEY|CLIENT_ID|DATABASE_URL)")
URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)
BEARER = re.compile(r"(?i)(bearer\s+)[a-z0-9._~+/=-]{8,}")
MASK = "***"


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they are secret, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if SECRET_NAME.search(k.upper()) and len(v) >= 4}
    return sorted(values, key=len, reverse=True)


def redact(message: str, secrets: list[str]) -> str:
    for value in secrets:
        message = message.replace(value, MASK)
    message = URL_PASSWORD.sub(rf"\g<scheme>{MASK}@", message)
    return BEARER.sub(rf"\g<1>{MASK}", message)


class RedactSecrets(logging.Filter):
    """Rewrites every record (message and traceback) with secrets masked."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = secret_values() if secrets is None else secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(
                logging.Formatter().formatException(record.exc_info), self.secrets
            )
            record.exc_info = None
        return True


def setup_logging(verbose: bool = False) -> None:
    """Root logging to stderr with secrets masked, quiet third-party chatter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # procrastinate's worker says which job each worker starts and how it ended: kept at INFO.
    chatter = ("procrastinate.periodic", "procrastinate.blueprints")
    for noisy in ("alembic", "httpx", "httpcore", "urllib3", "transformers", "prawcore", *chatter):
        logging.getLogger(noisy).setLevel(logging.WARNING)
