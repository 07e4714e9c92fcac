"""Replay of archived JSONL streams (plain or gzip) in any known shape, at a chosen speed.

Every line comes out: a post, or a dead letter naming the file and line number and the reason.
``speed`` is posts per second (0 = as fast as possible).
"""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from civic_signal.config.errors import ParseError, SourceError
from civic_signal.core.models import DeadLetter, Post
from civic_signal.core.source import Source
from civic_signal.listener.sources.formats import decode_json, parse_any


def open_text(path: Path) -> IO[bytes]:
    """Open a .jsonl or .jsonl.gz file for binary reading."""
    if not path.exists():
        raise SourceError(f"replay file {path} does not exist", hint="check --path / replay.path")
    with path.open("rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


class ReplaySource(Source):
    name = "replay"

    def __init__(self, path: str | Path, speed: float = 0.0, *, sleep=time.sleep, clock=time.monotonic) -> None:
        super().__init__()
        self.path = Path(path)
        self.speed = speed
        self._sleep = sleep
        self._clock = clock
        self.lines = 0
        self.damaged: str | None = None

    def __iter__(self) -> Iterator[Post | DeadLetter]:
        interval = 1.0 / self.speed if self.speed > 0 else 0.0
        next_at = self._clock()
        with open_text(self.path) as fh:
            self.health.connected = True
            for lineno, line in self._numbered(fh):
                if self.closed:
                    break
                self.lines = lineno
                if not line.strip():
                    continue
                origin = f"{self.path.name}:{lineno}"
                try:
                    post = parse_any(decode_json(line))
                    if post is not None and not isinstance(post, Post):
                        raise ParseError(f"the parser returned a {type(post).__name__}, not a post")
                except Exception as exc:  # noqa: BLE001 - one odd line must not end the replay
                    message = exc.message if isinstance(exc, ParseError) else f"{exc.__class__.__name__}: {exc}"
                    self.health.saw_error(f"{origin}: {message}")
                    yield DeadLetter(stage="source", reason=f"line {lineno}: {message}"[:2000],
                                     payload=line.decode("utf-8", "replace")[:100_000], origin=origin)
                    continue
                if post is None:
                    continue
                if interval:
                    next_at += interval
                    delay = next_at - self._clock()
                    if delay > 0:
                        self._sleep(delay)
                self.health.saw_post()
                yield post
            if self.damaged:
                self.health.saw_error(self.damaged)
                yield DeadLetter(stage="source", reason=self.damaged, payload="",
                                 origin=f"{self.path.name}:{self.lines + 1}")
        self.health.connected = False

    def _numbered(self, fh: IO[bytes]) -> Iterator[tuple[int, bytes]]:
        """Numbered lines; a damaged or cut-short gzip file ends them and sets :attr:`damaged`."""
        lineno = 0
        try:
            for lineno, line in enumerate(fh, start=1):
                yield lineno, line
        except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            self.damaged = (f"{self.path.name} is damaged or cut short after line {lineno} "
                            f"({exc.__class__.__name__}: {exc}); the lines before it were read")
