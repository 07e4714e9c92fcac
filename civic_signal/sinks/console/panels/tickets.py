"""Review queue size and ticket delivery to 311: sent, pending, failing."""

from __future__ import annotations

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from civic_signal.sinks.console.panels import panel
from civic_signal.sinks.console.snapshot import Snapshot
from civic_signal.sinks.console.text import short


def line(snap: Snapshot) -> Text:
    """The same numbers on one line (narrow screens, plain output)."""
    d = snap.delivery
    return Text.from_markup(
        f"review [bold magenta]{d.review}[/] · sent [green]{d.sent}[/] · pending [yellow]{d.pending + d.sending}[/]"
        f" · failing [{'bold red' if d.failing else 'green'}]{d.failing}[/]")


def render(snap: Snapshot, rows: int, *, wide: bool = False) -> Panel:
    d = snap.delivery
    g = Table.grid(padding=(0, 1), expand=True)
    g.add_column(style="dim", no_wrap=True)
    g.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    lines = [
        ("review queue", f"[bold magenta]{d.review}[/] waiting"),
        ("sent", f"[green]{d.sent}[/]" + (f" (+{d.closed} closed)" if d.closed else "")),
        ("pending", f"[yellow]{d.pending + d.sending}[/]"),
        ("failing", f"[{'bold red' if d.failing else 'green'}]{d.failing}[/] ({d.retrying} retrying, {d.failed} failed)"),
    ]
    if d.last_error:
        lines.append(("last error", f"[red]{short(d.last_error, 200)}[/]"))
    for k, v in lines[:max(rows, 1)]:
        g.add_row(k, Text.from_markup(v))
    return panel(g, "tickets", style="red" if d.failing else "cyan")
