"""The live loop: a poller thread rebuilds the :class:`Snapshot` every ``poll_interval_s``;
``rich.live.Live(get_renderable=...)`` redraws the last snapshot ``refresh_per_second`` times a
second, sized to the terminal at each redraw (so it follows resizes and never flickers: Live
rewrites in place, and a frame is always exactly the screen's height).

When the console is not a terminal, a plain-lines thread prints :func:`plain_lines` every
``plain_every_s`` instead, and :meth:`Dashboard.print_once` prints one frame.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.segment import Segment

from civic_signal.sinks.console.frame import build_frame, plain_lines
from civic_signal.sinks.console.snapshot import Snapshot

log = logging.getLogger("civic_signal.console")


class Dashboard:
    """Pulls snapshots from ``snapshot()`` and shows them. Use as a context manager or :meth:`run`."""

    def __init__(self, snapshot: Callable[[], Snapshot], *, console: Console | None = None,
                 refresh_per_second: float = 4.0, poll_interval_s: float = 2.0, plain_every_s: float = 10.0,
                 width: int | None = None, height: int | None = None, screen: bool = True,
                 plain: bool | None = None, plain_line: Callable[[Snapshot], list[str]] | None = None) -> None:
        self.snapshot_fn = snapshot
        self.console = console or Console()
        self.refresh = refresh_per_second
        self.poll_interval_s = poll_interval_s
        self.plain_every_s = plain_every_s
        self.width, self.height, self.screen = width, height, screen
        self.plain = (not self.console.is_terminal) if plain is None else plain
        self.plain_line = plain_line or plain_lines
        self._latest: Snapshot | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._live: Live | None = None
        self._frame: RenderableType | None = None
        self._frame_key: tuple[int, int, int] | None = None

    # -- state -----------------------------------------------------------------------------------
    def poll(self) -> Snapshot:
        """Take a snapshot now (errors become a snapshot that says so)."""
        try:
            snap = self.snapshot_fn()
        except Exception as exc:
            log.exception("console snapshot failed")
            prev = self._latest
            snap = Snapshot(now=datetime.now(timezone.utc), error=f"{exc.__class__.__name__}: {exc}"[:200]) \
                if prev is None else _with_error(prev, f"{exc.__class__.__name__}: {exc}"[:200])
        with self._lock:
            self._latest = snap
        return snap

    @property
    def latest(self) -> Snapshot:
        with self._lock:
            snap = self._latest
        return snap if snap is not None else self.poll()

    def size(self) -> tuple[int, int]:
        w, h = self.console.size
        return self.width or w, self.height or (h if self.screen else max(h - 1, 16))

    def render(self) -> RenderableType:
        """The current frame (what ``Live`` pulls). Laid out once per snapshot and screen size
        (a 160x48 layout costs ~0.2 s of CPU here); redraws in between reuse the rendered lines."""
        w, h = self.size()
        snap = self.latest
        key = (id(snap), w, h)
        if self._frame_key != key:
            options = self.console.options.update(width=w, height=h)
            lines = self.console.render_lines(build_frame(snap, w, h), options, pad=True)
            self._frame, self._frame_key = _Rendered(lines), key
        return self._frame

    def print_once(self) -> None:
        """One frame (terminal) or the plain lines (not a terminal), from a fresh snapshot."""
        snap = self.poll()
        if self.plain:
            for line in self.plain_line(snap):
                self.console.print(line, markup=False, highlight=False, soft_wrap=True)
            return
        w, h = self.size()
        self.console.print(build_frame(snap, w, h), width=w, height=h)

    # -- loops -------------------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            self.poll()

    def _plain_loop(self) -> None:
        while not self._stop.wait(self.plain_every_s):
            for line in self.plain_line(self.latest):
                self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def __enter__(self) -> "Dashboard":
        self.poll()
        self._stop.clear()
        self._threads = [threading.Thread(target=self._poll_loop, name="console-poll", daemon=True)]
        if self.plain:
            self._threads.append(threading.Thread(target=self._plain_loop, name="console-plain", daemon=True))
        else:
            self._live = Live(get_renderable=self.render, console=self.console, refresh_per_second=self.refresh,
                              screen=self.screen, transient=False, redirect_stdout=False, redirect_stderr=False)
            self._live.__enter__()
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def run(self, stop: threading.Event | None = None) -> None:
        """Show until ``stop`` is set or Ctrl-C."""
        stop = stop or threading.Event()
        with self:
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass


class _Rendered:
    """Lines rendered once, drawn again as they are."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: Any):
        new_line = Segment.line()
        for n, line in enumerate(self.lines):
            yield from line
            if n < len(self.lines) - 1:
                yield new_line


def _with_error(snap: Snapshot, error: str) -> Snapshot:
    from dataclasses import replace
    return replace(snap, error=error)


def snapshot_source(archive: Any, **collect_kw: Any) -> Callable[[], Snapshot]:
    """A zero-argument snapshot function over ``archive`` (see :func:`civic_signal.sinks.console.collect.collect`)."""
    from civic_signal.sinks.console.collect import collect
    return lambda: collect(archive, **collect_kw)
