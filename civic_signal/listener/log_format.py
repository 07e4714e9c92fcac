"""Log lines as JSON objects, on request (``log.format = "json"``, env ``CIVIC_LOG__FORMAT=json``).

One object per line on stderr, for journald and log shippers: ``ts`` (UTC, ISO 8601 with
milliseconds), ``level``, ``logger``, ``message``, ``process``, ``thread`` and, for an exception,
``exc``. Secrets stay out exactly as in text logs: the :class:`~civic_signal.listener.log_secrets.SecretFilter`
on each handler masks the record first, and the formatter masks its message and traceback again
(:func:`~civic_signal.listener.log_secrets.scrub`), so a record that reached a handler without the
filter is masked too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import orjson

from civic_signal.listener.log_secrets import scrub


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = scrub(record.exc_text)
        if record.stack_info:
            out["stack"] = scrub(record.stack_info)
        return orjson.dumps(out, default=str).decode()


def apply(log_format: str, logger: logging.Logger | None = None) -> None:
    """Use ``log_format`` (``text`` or ``json``) on every handler of ``logger`` (default: root)."""
    if log_format != "json":
        return
    for handler in (logger or logging.getLogger()).handlers:
        if not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())
