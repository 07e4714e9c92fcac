"""Neighbourhoods: Boston neighbourhoods by open incidents (reports in the last day beside them)."""

from __future__ import annotations

from rich.panel import Panel
from rich.text import Text

from civic_signal.sinks.console.panels import grid_table, more, panel
from civic_signal.sinks.console.snapshot import Snapshot


def render(snap: Snapshot, rows: int, *, wide: bool = False) -> Panel:
    cols = [("neighbourhood", {"ratio": 2, "min_width": 8}), ("open", {"justify": "right", "width": 4}),
            ("24h", {"justify": "right", "width": 4}), ("top", {"ratio": 1, "min_width": 4})]
    t = grid_table(*cols)
    hoods = snap.neighbourhoods
    shown = hoods if len(hoods) <= rows - 1 else hoods[: max(rows - 2, 0)]
    for h in shown:
        t.add_row(h.name, Text(str(h.open), style="bold yellow" if h.open else "dim"), str(h.day), h.top or "")
    more(t, len(hoods) - len(shown), len(cols))
    basis = "open incidents" if snap.neighbourhood_basis == "incidents" else "open tickets"
    if not hoods:
        return panel(Text("nothing open", style="dim"), "neighbourhoods", subtitle=basis)
    return panel(t, "neighbourhoods", subtitle=basis)
