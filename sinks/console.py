"""The run display: a live panel while ``civic-signal run`` works and the closing summary.

With stdout a terminal it is a ``rich.live.Live`` that pulls state at a fixed rate; otherwise
it prints one plain progress line every few seconds (logs and CI stay readable).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from config.taxonomy import service_name


def short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def summary_table(summary: dict[str, Any], errors: int | None = None) -> Table:
    """The end-of-run summary: posts, actionable, per category, tickets queued, errors."""
    t = Table(title="Civic Signal run summary", show_header=True, header_style="bold")
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_row("posts archived", str(summary["posts"]))
    t.add_row("classified", str(summary["classified"]))
    t.add_row("actionable", str(summary["actionable"]))
    for code, n in summary["categories"].items():
        t.add_row(f"  {code} {short(service_name(code), 40)}", str(n))
    tickets = summary.get("tickets", {})
    t.add_row("tickets queued (pending)", str(tickets.get("pending", 0)))
    for status, n in sorted(tickets.items()):
        if status != "pending":
            t.add_row(f"tickets {status}", str(n))
    t.add_row("dead letters (errors)", str(summary["dead_letters"] if errors is None else errors))
    return t


class RunDisplay:
    """Shows pipeline progress while a run works. ``stats`` is a :class:`PipelineStats`."""

    def __init__(self, stats: Any, sources: Sequence[Any], *, console: Console | None = None,
                 refresh_per_second: float = 4.0, plain_every_s: float = 5.0,
                 depth: Callable[[], int | None] | None = None) -> None:
        self.stats, self.sources = stats, list(sources)
        self.console = console or Console()
        self.refresh = refresh_per_second
        self.plain_every_s = plain_every_s
        self.depth = depth
        self._live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def render(self) -> Group:
        s = self.stats
        elapsed = max(time.monotonic() - s.started_at, 1e-6)
        head = Table.grid(padding=(0, 2))
        for _ in range(5):
            head.add_column()
        head.add_row(f"posts [bold]{s.posts_in}[/]", f"classified [bold]{s.classified}[/]",
                     f"actionable [bold green]{s.actionable}[/]", f"dead letters [bold red]{s.dead_letters}[/]",
                     f"{s.classified / elapsed:,.0f} posts/s")
        src = Table("source", "connected", "posts", "errors", "last error", box=None, pad_edge=False)
        for source in self.sources:
            h = source.health
            src.add_row(h.name, "yes" if h.connected else "no", str(h.posts), str(h.errors), short(h.last_error or "", 40))
        hits = Table("category", "location", "score", "post", box=None, pad_edge=False)
        with s.lock:
            latest = [cp for cp in list(s.latest)[-8:] if cp.classification.actionable]
        for cp in latest:
            c = cp.classification
            where = (c.location.address or c.location.text) if c.location else "-"
            hits.add_row(c.category.code if c.category else "-", short(where, 24), f"{c.confidence:.2f}",
                         short(cp.post.text, 48))
        parts: list[Any] = [head, Panel(src, title="sources"), Panel(hits, title="latest hits")]
        if s.last_error:
            parts.append(Text(f"last error: {short(s.last_error, 120)}", style="red"))
        return Group(*parts)

    def plain_line(self) -> str:
        s = self.stats
        return (f"progress: posts={s.posts_in} classified={s.classified} actionable={s.actionable} "
                f"dead_letters={s.dead_letters}")

    def __enter__(self) -> "RunDisplay":
        if self.console.is_terminal:
            self._live = Live(get_renderable=self.render, console=self.console,
                              refresh_per_second=self.refresh, transient=False)
            self._live.__enter__()
        else:
            def loop() -> None:
                while not self._stop.wait(self.plain_every_s):
                    self.console.print(self.plain_line(), markup=False, highlight=False)
            self._thread = threading.Thread(target=loop, name="run-display", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.__exit__(None, None, None)
        else:
            self.console.print(self.plain_line(), markup=False, highlight=False)
