"""What ``civic-signal run`` shows: the operations console over the live pipeline, and the summary.

With stdout a terminal it is the dashboard (:mod:`civic_signal.sinks.console.dashboard`) whose sources and
pipeline panels read the running process directly and whose other panels read the archive;
otherwise it prints one plain ``progress:`` line every few seconds (logs and CI stay readable).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table

from civic_signal.config.taxonomy import service_name
from civic_signal.sinks.console.text import short

__all__ = ["RunDisplay", "summary_table", "short"]


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
    """Shows the run while it works. ``stats`` is a :class:`PipelineStats`, ``sources`` the running
    sources; with ``archive`` the hits, categories, neighbourhoods, tickets and alerts panels read it."""

    def __init__(self, stats: Any, sources: Sequence[Any], *, console: Console | None = None,
                 refresh_per_second: float = 4.0, plain_every_s: float = 5.0,
                 depth: Callable[[], int | None] | None = None, archive: Any | None = None,
                 poll_interval_s: float = 1.0, process: str = "run", stale_after_s: float = 30.0) -> None:
        from civic_signal.sinks.console.collect import LiveState, collect
        from civic_signal.sinks.console.dashboard import Dashboard

        self.stats, self.sources = stats, list(sources)
        self.console = console or Console()
        self.depth = depth
        live = LiveState(sources=self.sources, stats=stats, depth=depth, process=process)
        self.dashboard = Dashboard(
            lambda: collect(archive, live=live, stale_after_s=stale_after_s), console=self.console,
            refresh_per_second=refresh_per_second, poll_interval_s=poll_interval_s, plain_every_s=plain_every_s,
            screen=False, plain_line=lambda _snap: [self.plain_line()])

    def render(self) -> RenderableType:
        return self.dashboard.render()

    def plain_line(self) -> str:
        s = self.stats
        return (f"progress: posts={s.posts_in} classified={s.classified} actionable={s.actionable} "
                f"dead_letters={s.dead_letters}")

    def __enter__(self) -> "RunDisplay":
        self.dashboard.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.dashboard.poll()  # the last frame shows the final numbers
        self.dashboard.__exit__(*exc)
        if self.dashboard.plain:
            self.console.print(self.plain_line(), markup=False, highlight=False)
