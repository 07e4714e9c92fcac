"""Latest hits: time, category, location, score, incident and ticket status, the post text shortened."""

from __future__ import annotations

from rich.panel import Panel
from rich.text import Text

from civic_signal.sinks.console.panels import grid_table, panel
from civic_signal.sinks.console.snapshot import Snapshot
from civic_signal.sinks.console.text import short

STATUS_STYLE = {"sent": "green", "closed": "dim green", "pending": "yellow", "review": "magenta",
                "sending": "yellow", "failed": "bold red", "rejected": "dim", "cancelled": "dim"}


def render(snap: Snapshot, rows: int, *, wide: bool = False) -> Panel:
    cols = [("time", {"width": 8}), ("category", {"width": 11}), ("location", {"ratio": 2, "min_width": 8}),
            ("score", {"justify": "right", "width": 5})]
    if wide:
        cols.append(("incident", {"width": 10}))
    cols += [("ticket", {"width": 7}), ("post", {"ratio": 5 if wide else 3, "min_width": 10})]
    t = grid_table(*cols)
    for h in snap.hits[: max(rows - 1, 0)]:
        where = h.location or "-"
        if h.neighborhood and h.neighborhood not in where:
            where = f"{where}, {h.neighborhood}" if h.location else h.neighborhood
        if h.jurisdiction:
            where = f"[{h.jurisdiction}] {where}"
        cells = [h.at.strftime("%H:%M:%S") if h.at else "-", h.category or "-", where, f"{h.score:.2f}"]
        if wide:
            cells.append(short(h.incident or "-", 10))
        status = h.ticket_status or "-"
        cells += [Text(status, style=STATUS_STYLE.get(status, "dim")), short(h.text, 400)]
        t.add_row(*cells)
    if not snap.hits:
        return panel(Text("no actionable posts yet", style="dim"), "latest hits")
    return panel(t, "latest hits")
