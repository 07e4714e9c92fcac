"""Categories: actionable reports per service code in the last hour and day, with an hourly sparkline."""

from __future__ import annotations

from rich.panel import Panel
from rich.text import Text

from civic_signal.sinks.console.panels import grid_table, more, panel
from civic_signal.sinks.console.snapshot import Snapshot
from civic_signal.sinks.console.text import sparkline


def render(snap: Snapshot, rows: int, *, wide: bool = False) -> Panel:
    cols = [("category", {"width": 11})]
    if wide:
        cols.append(("name", {"ratio": 2}))
    cols += [("1h", {"justify": "right", "width": 4}), ("24h", {"justify": "right", "width": 5}),
             ("last 24h" if wide else "8h", {"width": 24 if wide else 8})]
    t = grid_table(*cols)
    cats = snap.categories
    shown = cats if len(cats) <= rows - 1 else cats[: max(rows - 2, 0)]
    for c in shown:
        cells = [c.code] + ([c.name] if wide else [])
        series = c.series if wide else c.series[-8:]
        cells += [Text(str(c.hour), style="bold" if c.hour else "dim"), str(c.day),
                  Text(sparkline(series), style="green")]
        t.add_row(*cells)
    more(t, len(cats) - len(shown), len(cols))
    if not cats:
        return panel(Text("no actionable reports in the last 24 h", style="dim"), "categories")
    return panel(t, "categories", subtitle=f"{sum(c.day for c in cats)} in 24h")
