"""Alerts: what the rules in :mod:`civic_signal.sinks.alerts` raise now and what was recorded in the last day."""

from __future__ import annotations

from rich.panel import Panel
from rich.text import Text

from civic_signal.sinks.console.panels import grid_table, more, panel
from civic_signal.sinks.console.snapshot import Snapshot
from civic_signal.sinks.console.text import ago

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow"}


def line(snap: Snapshot, n: int) -> list[Text]:
    """The newest ``n`` alerts, one line each (narrow screens)."""
    out = []
    for a in snap.alerts[:n]:
        out.append(Text.assemble(("! ", SEVERITY_STYLE.get(a.severity, "yellow")),
                                 (a.message, SEVERITY_STYLE.get(a.severity, "yellow")),
                                 (f"  {ago(a.raised_at, snap.now)} ago", "dim"), no_wrap=True, overflow="ellipsis"))
    return out


def render(snap: Snapshot, rows: int, *, wide: bool = False) -> Panel:
    cols = [("age", {"width": 4, "justify": "right"}), ("alert", {"ratio": 1})]
    t = grid_table(*cols)
    t.show_header = False
    if wide:  # room for two lines per alert
        t.columns[1].no_wrap, t.columns[1].overflow = False, "fold"
    shown = snap.alerts if len(snap.alerts) <= rows else snap.alerts[: max(rows - 1, 0)]
    for a in shown:
        t.add_row(ago(a.raised_at, snap.now), Text(a.message, style=SEVERITY_STYLE.get(a.severity, "yellow")))
    more(t, len(snap.alerts) - len(shown), len(cols))
    if not snap.alerts:
        return panel(Text("no alerts", style="green"), "alerts", style="green")
    return panel(t, "alerts", style="red")
