"""Keep secrets out of the logs, whoever writes them.

Our code never logs a secret, but libraries do at DEBUG level: tweepy logs request headers
(``Authorization: Bearer ...``), kafka-python logs its whole configuration (``sasl_plain_password``),
and an endpoint's error page may echo back what it was sent. :func:`install` puts a
:class:`SecretFilter` on every handler of the root logger; it replaces each known secret value
(plain, URL-encoded and as a bytes repr) in the formatted message and in the traceback with
``**********``.

Known secrets are the values of the secret settings (:data:`civic_signal.config.settings.SECRET_KEYS`) found in
the environment when :func:`install` runs, plus whatever :func:`protect` adds later (the CLI adds
the loaded settings' secrets). What callers may rely on: after :func:`install`, no record that a
root handler emits contains a protected value of 4 or more characters.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "**********"
_values: set[str] = set()
_lock = threading.Lock()


def _variants(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), repr(secret.encode())[2:-1]}


def protect(secrets: Iterable[str]) -> None:
    """Add secret values to mask (values shorter than 4 characters are ignored: too many false hits)."""
    with _lock:
        for s in secrets:
            if isinstance(s, str) and len(s) >= 4:
                _values.update(v for v in _variants(s) if len(v) >= 4)


def protect_settings(settings) -> None:
    """Mask every secret a :class:`civic_signal.config.settings.Settings` holds."""
    from civic_signal.config.settings import SECRET_KEYS
    protect(getattr(getattr(settings, section), key).get_secret_value() for section, key in SECRET_KEYS
            if hasattr(settings, section))


def scrub(text: str) -> str:
    """``text`` with every protected value replaced by :data:`MASK`."""
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return text


class SecretFilter(logging.Filter):
    """Masks protected values in a record's message and traceback; never drops a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not _values:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the logging module's business
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def _from_environment() -> list[str]:
    from civic_signal.config.settings import SECRET_KEYS
    names = {f"CIVIC_{section}__{key}".upper() for section, key in SECRET_KEYS}
    return [value for name, value in os.environ.items() if name.upper() in names]


def install(logger: logging.Logger | None = None) -> SecretFilter:
    """Protect the environment's secrets and filter every handler of ``logger`` (default: root)."""
    protect(_from_environment())
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())
    existing = next((f for h in logger.handlers for f in h.filters if isinstance(f, SecretFilter)), None)
    return existing or SecretFilter()
