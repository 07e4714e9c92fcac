"""One module per console panel. Each has ``render(snap, rows) -> Panel``: ``rows`` is how many
content lines the panel may use (the frame computes it from the screen size), and a panel never
needs more than that, so nothing is cut mid-table."""

from __future__ import annotations

from rich import box
from rich.panel import Panel
from rich.table import Table


def panel(body, title: str, *, style: str = "cyan", subtitle: str | None = None) -> Panel:
    return Panel(body, title=f"[bold]{title}[/]", title_align="left", border_style=style, box=box.ROUNDED,
                 subtitle=subtitle, subtitle_align="right", padding=(0, 1))


def grid_table(*columns: tuple[str, dict]) -> Table:
    """A borderless table whose cells never wrap (long values end in an ellipsis)."""
    t = Table(box=None, pad_edge=False, show_edge=False, expand=True, padding=(0, 1), header_style="bold dim")
    for name, kw in columns:
        t.add_column(name, no_wrap=True, overflow="ellipsis", **kw)
    return t


def more(table: Table, hidden: int, columns: int) -> None:
    """A last row saying how many rows did not fit."""
    if hidden > 0:
        table.add_row(f"[dim]… {hidden} more[/]", *[""] * (columns - 1))
