"""Sources: connected or not, posts per minute, last message, reconnects, errors and the last error."""

from __future__ import annotations

from rich.panel import Panel
from rich.text import Text

from civic_signal.sinks.console.panels import grid_table, more, panel
from civic_signal.sinks.console.snapshot import Snapshot
from civic_signal.sinks.console.text import ago


def render(snap: Snapshot, rows: int, *, wide: bool = False) -> Panel:
    cols = [("source", {"ratio": 2, "min_width": 6}), ("up", {"width": 6}), ("/min", {"justify": "right", "width": 5}),
            ("last", {"justify": "right", "width": 4}), ("rc", {"justify": "right", "width": 3}),
            ("err", {"justify": "right", "width": 4}), ("last error", {"ratio": 3, "min_width": 8})]
    t = grid_table(*cols)
    if not snap.sources:
        return panel(Text("no process is reporting: start `civic-signal run` (or listen/work)", style="yellow"),
                     "sources", style="yellow")
    shown = snap.sources if len(snap.sources) <= rows - 1 else snap.sources[: max(rows - 2, 0)]
    bad = 0
    for s in shown:
        silent = s.updated_at is not None and (snap.now - s.updated_at).total_seconds() > snap.stale_after_s
        up = (Text("silent", style="bold yellow") if silent else
              Text("yes", style="green") if s.connected else Text("no", style="bold red"))
        bad += silent or not s.connected
        name = s.name + (f" [dim]{s.process}[/]" if wide and s.process else "")
        t.add_row(name, up, f"{s.posts_per_minute:.0f}", ago(s.last_message_at, snap.now), str(s.reconnects),
                  Text(str(s.errors), style="red" if s.errors else ""), Text(s.last_error or "", style="red"))
    more(t, len(snap.sources) - len(shown), len(cols))
    up = sum(1 for s in snap.sources if s.connected and not (
        s.updated_at is not None and (snap.now - s.updated_at).total_seconds() > snap.stale_after_s))
    return panel(t, "sources", style="red" if bad and not up else "cyan", subtitle=f"{up}/{len(snap.sources)} up")
