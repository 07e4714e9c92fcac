"""What every network source shares: an I/O thread feeding a queue, backoff, dedupe, parsing.

A network source (X stream, DataSift, Jetstream, Mastodon, push) is a :class:`StreamSource`:

- :meth:`StreamSource._run` runs in its own daemon thread, connects, reconnects with
  :class:`Backoff`, and hands each raw message to :meth:`StreamSource.put` (it never parses:
  an exception there could end the thread).
- The consumer's thread iterates the source: it takes messages off the bounded queue, turns
  each into items with :meth:`StreamSource.process` (a :class:`Post`, a :class:`PostDeleted`,
  nothing, or a :class:`DeadLetter` with the reason; never an exception) and yields them. After
  everything one message produced has been yielded, :meth:`StreamSource.done` runs: by then
  ``run_source`` has published those items, so that is where cursors move and spool files go.
- :meth:`Source.close` ends the iteration within about 0.2 s, whatever the I/O thread is doing.

What callers may rely on: items of one connection come out in the order the server sent them;
a post id seen in the last :data:`DEDUPE_WINDOW` posts is not yielded twice (reconnects with
backfill, one post in two Mastodon streams); nothing is dropped without a dead letter or a
health counter saying so (``filtered`` for keyword pre-filters).
"""

from __future__ import annotations

import logging
import queue
import threading
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from civic_signal.config.errors import ParseError
from civic_signal.core.models import DeadLetter, Post, PostDeleted
from civic_signal.core.source import Source

log = logging.getLogger("civic_signal.sources")

Item = Post | PostDeleted | DeadLetter

#: How many recent post ids each source remembers to drop duplicates.
DEDUPE_WINDOW = 50_000


class Backoff:
    """Exponential backoff: ``base``, ``2*base`` ... up to ``cap`` seconds; :meth:`reset` after success."""

    def __init__(self, base: float = 1.0, cap: float = 60.0) -> None:
        self.base, self.cap = base, cap
        self._next = base

    def next(self, at_least: float = 0.0) -> float:
        """The delay to wait now (at least ``at_least``, e.g. a server's Retry-After)."""
        delay = max(self._next, at_least)
        self._next = min(max(self._next * 2, self.base), self.cap)
        return min(delay, max(self.cap, at_least))

    def reset(self) -> None:
        self._next = self.base


class RecentIds:
    """A bounded set of recently seen ids (oldest forgotten first)."""

    def __init__(self, size: int = DEDUPE_WINDOW) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def seen(self, key: str) -> bool:
        """True if ``key`` was seen before; remembers it either way."""
        if key in self._ids:
            self._ids.move_to_end(key)
            return True
        self._ids[key] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False


def close_quietly(conn: Any) -> None:
    """Close a connection from another thread (``close()`` of a source), best effort: the
    reading thread sees the closed connection and ends."""
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - best effort from another thread
            pass


def preview(raw: Any, limit: int = 100_000) -> str:
    """A raw message as text for a dead letter's payload."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")[:limit]
    return str(raw)[:limit]


class StreamSource(Source):
    """A source whose I/O runs in a thread; see the module docstring for the contract."""

    queue_size = 10_000
    poll_s = 0.2

    def __init__(self) -> None:
        super().__init__()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.queue_size)
        self._thread: threading.Thread | None = None
        self._io_done = threading.Event()
        self._recent = RecentIds()
        self.filtered = 0     # messages a keyword pre-filter skipped on purpose
        self.duplicates = 0   # posts already yielded (by id) and not yielded again

    # -- for subclasses -------------------------------------------------------------------------
    @abstractmethod
    def _run(self) -> None:
        """The I/O loop: connect, :meth:`put` raw messages, reconnect; return once :attr:`closed`."""

    @abstractmethod
    def process(self, raw: Any) -> Iterable[Item]:
        """Items for one raw message. May raise :class:`ParseError` (it becomes a dead letter)."""

    def done(self, raw: Any) -> None:
        """Called after everything ``raw`` produced was yielded (and so published)."""

    def finish(self) -> None:
        """Called once when the iteration ends (save cursors, stop servers)."""

    def origin(self, raw: Any) -> str:
        return self.name

    def put(self, raw: Any) -> bool:
        """Queue one raw message for the consumer; blocks while the queue is full (backpressure).
        Returns False if the source closed first (the message is then not delivered)."""
        while not self.closed:
            try:
                self._queue.put(raw, timeout=self.poll_s)
                return True
            except queue.Full:
                continue
        return False

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless closed first; returns True if the source closed."""
        return self._closed.wait(seconds) if seconds > 0 else self.closed

    def connected(self) -> None:
        self.health.connected = True

    def disconnected(self, reason: str | None, *, reconnecting: bool = True) -> None:
        """The connection ended; ``reason`` (without secrets) goes to the health record."""
        self.health.connected = False
        if reason:
            self.health.saw_error(reason)
            log.warning("%s: %s", self.name, reason)
        if reconnecting and not self.closed:
            with self.health._lock:
                self.health.reconnects += 1

    # -- the iteration ------------------------------------------------------------------------------
    def _io_main(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - recorded, and the iteration ends with a dead letter
            msg = f"{self.name} I/O loop failed: {exc.__class__.__name__}: {exc}"
            log.exception(msg)
            self.health.saw_error(msg)
            self.put(DeadLetter(stage="source", reason=msg[:2000], payload="", origin=self.name))
        finally:
            self.health.connected = False
            self._io_done.set()

    def start(self) -> None:
        """Start the I/O thread (iteration does this; servers call it to be reachable early)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._io_main, name=f"source-io-{self.name}", daemon=True)
            self._thread.start()

    def items_for(self, raw: Any) -> list[Item]:
        """:meth:`process` made total: a ParseError (or any bug on odd input) is a dead letter."""
        if isinstance(raw, DeadLetter):
            return [raw]
        try:
            items = list(self.process(raw))
        except Exception as exc:  # noqa: BLE001 - one odd message must not end the source
            reason = exc.message if isinstance(exc, ParseError) else f"{exc.__class__.__name__}: {exc}"
            self.health.saw_error(f"{self.origin(raw)}: {reason}")
            return [DeadLetter(stage="source", reason=f"{self.name}: {reason}"[:2000], payload=preview(raw),
                               origin=self.origin(raw))]
        out: list[Item] = []
        for item in items:
            if isinstance(item, Post):
                if self._recent.seen(item.id):
                    self.duplicates += 1
                    continue
                self.health.saw_post()
            out.append(item)
        return out

    def __iter__(self) -> Iterator[Item]:
        self.start()
        try:
            while True:
                try:
                    raw = self._queue.get(timeout=self.poll_s)
                except queue.Empty:
                    if self.closed or self._io_done.is_set():
                        return
                    continue
                yield from self.items_for(raw)
                self.done(raw)
                if self.closed:
                    return
        finally:
            self.close()
            self.finish()
