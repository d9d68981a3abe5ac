"""Logging set-up. httpx logs every request URL at INFO, and a Bot API URL holds the
bot's token: keep it at WARNING so the token never reaches a log.

Whatever still carries a secret is masked on the way out: `SecretMask` replaces the bot token
and the keys from the settings (and anything shaped like a Telegram token) in every record's
message, arguments, traceback and stack, and the root handlers' formatters mask what they
produce as a last guard."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# A Telegram bot token: the bot's numeric id, a colon, then the secret part.
TELEGRAM_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}", re.ASCII)
MASK = "[redacted]"
_SHORTEST_SECRET = 6  # shorter values would mask ordinary words


class SecretMask(logging.Filter):
    """Masks known secret values and Telegram tokens in log records."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        known = set(self._secrets) | {s for s in secrets if s and len(s) >= _SHORTEST_SECRET}
        self._secrets = sorted(known, key=len, reverse=True)  # a longer secret first

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return TELEGRAM_TOKEN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep what there is
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


class MaskingFormatter(logging.Formatter):
    """A formatter whose output (message, traceback and all) goes through `SecretMask`."""

    def __init__(self, mask: SecretMask, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self._mask = mask

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return self._mask.mask(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        return self._mask.mask(super().format(record))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
secret_mask = SecretMask()


def settings_secrets(settings) -> list[str]:
    """The secret values of `app.settings.Settings` that are set (token, keys, webhook secret)."""
    values = []
    for name in ("telegram_token", "webhook_secret", "data_key", "id_hash_key"):
        value = getattr(settings, name, None)
        if value is not None:
            values.append(value.get_secret_value())
    return values


def configure_logging(level: int = logging.INFO, settings=None) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT)
    if settings is not None:
        secret_mask.add(*settings_secrets(settings))
    for handler in logging.getLogger().handlers:
        if secret_mask not in handler.filters:
            handler.addFilter(secret_mask)
        if not isinstance(handler.formatter, MaskingFormatter):
            fmt = handler.formatter._fmt if handler.formatter else LOG_FORMAT  # noqa: SLF001
            handler.setFormatter(MaskingFormatter(secret_mask, fmt))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
