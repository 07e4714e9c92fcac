"""Pipeline: processes, throughput, queue depth or consumer lag, dead letters, retries."""

from __future__ import annotations

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from civic_signal.sinks.console.panels import panel
from civic_signal.sinks.console.snapshot import Snapshot
from civic_signal.sinks.console.text import short, sparkline


def render(snap: Snapshot, rows: int, *, wide: bool = False) -> Panel:
    p = snap.pipeline
    g = Table.grid(padding=(0, 1), expand=True)
    g.add_column(style="dim", no_wrap=True)
    g.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    rate = "-" if p.rate_per_s is None else f"{p.rate_per_s:,.1f}/s"
    lines = [
        ("throughput", f"[bold]{rate}[/] classified"),
        ("posts", f"{p.posts_in:,} in · {p.classified:,} cls · [green]{p.actionable:,}[/] act"),
        ("queue", ("-" if p.queue_depth is None else f"{p.queue_depth:,}")
         + ("" if p.lag is None else f"  lag [bold]{p.lag:,}[/]")),
        ("dead letters", f"[{'red' if p.dead_letters_hour else 'green'}]{p.dead_letters_total:,}[/]"
         f" ({p.dead_letters_hour} last h) {sparkline(p.dead_letter_series)}"),
        ("processes", f"{p.processes_up}/{p.processes_total} up" + (f" · retries {p.sink_retries}" if p.sink_retries else "")),
    ]
    if p.last_error:
        lines.append(("last error", f"[red]{short(p.last_error, 200)}[/]"))
    for k, v in lines[:max(rows, 1)]:
        g.add_row(k, Text.from_markup(v))
    return panel(g, "pipeline")
