"""One error hierarchy for Civic Signal.

Every error says what happened and what to do about it. Codes (``[CS1xx]``) make them
easy to search in logs and in this file::

    CivicSignalError
    ├── ConfigError            [CS1xx] a setting is missing or invalid (fails at start-up)
    ├── InputError             [CS2xx] an external payload could not be understood
    │   └── ParseError                 a line/message is not valid JSON or lacks fields
    ├── SourceError            [CS3xx] a source could not connect or lost its connection
    ├── BusError               [CS4xx] the bus (in-process or Kafka) failed to deliver
    ├── ClassifierError        [CS5xx] the classifier model is missing or broken
    ├── SinkError              [CS6xx] a sink could not write
    │   ├── RetryableSinkError         try again later (5xx, timeout, connection refused)
    │   └── PermanentSinkError         never retry; dead-letter with the reason (4xx)
    └── StorageError           [CS7xx] the archive database failed
"""

from __future__ import annotations


class CivicSignalError(Exception):
    """Base of every error Civic Signal raises on purpose."""

    code: str = "CS000"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class ConfigError(CivicSignalError):
    code = "CS100"


class InputError(CivicSignalError):
    code = "CS200"


class ParseError(InputError):
    """A message could not be parsed. ``where`` says which line or offset it came from."""

    code = "CS201"

    def __init__(self, message: str, *, where: str | None = None, raw: bytes | str | None = None,
                 hint: str | None = None) -> None:
        self.where = where
        self.raw = raw
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class SourceError(CivicSignalError):
    code = "CS300"


class BusError(CivicSignalError):
    code = "CS400"


class ClassifierError(CivicSignalError):
    code = "CS500"


class SinkError(CivicSignalError):
    code = "CS600"


class RetryableSinkError(SinkError):
    code = "CS601"


class PermanentSinkError(SinkError):
    code = "CS602"


class StorageError(CivicSignalError):
    code = "CS700"
