"""Lays the panels out for the screen: a compact arrangement up to 119 columns (fits 80x24), a
three-column one from 120 columns on. Every region gets an explicit height, computed here, and each
panel is told how many rows it has, so a frame is exactly ``height`` lines and nothing is cut
mid-table. :func:`plain_lines` is the same state as plain text (logs, pipes, CI)."""

from __future__ import annotations

from rich.layout import Layout
from rich.text import Text

from civic_signal.sinks.console.panels import alerts, categories, hits, neighbourhoods, pipeline, sources, tickets
from civic_signal.sinks.console.snapshot import Snapshot
from civic_signal.sinks.console.text import ago, short

WIDE = 120


def header(snap: Snapshot) -> Text:
    p = snap.pipeline
    if snap.error:
        return Text.assemble((f" {snap.title} ", "bold white on red"), " ",
                             (snap.now.strftime("%H:%M:%S UTC"), "bold"), "  ", (snap.error, "bold red"),
                             no_wrap=True, overflow="ellipsis")
    t = Text.assemble((f" {snap.title} ", "bold white on blue"), " ",
                      (snap.now.strftime("%Y-%m-%d %H:%M:%S UTC"), "bold"), "  ",
                      (f"processes {p.processes_up}/{p.processes_total} up", "green" if p.processes_up else "yellow"),
                      "  ", (f"alerts {len(snap.alerts)}", "bold red" if snap.alerts else "green"), "  ",
                      (f"review {snap.delivery.review}", "magenta"), no_wrap=True, overflow="ellipsis")
    return t


def _split(total: int, parts: list[int]) -> list[int]:
    """Share ``total`` rows in proportion to ``parts`` (every share at least 3)."""
    s = sum(parts)
    out = [max(total * p // s, 3) for p in parts]
    out[-1] = max(total - sum(out[:-1]), 3)
    return out


def build_frame(snap: Snapshot, width: int, height: int) -> Layout:
    """The whole screen as a :class:`Layout` of ``height`` lines (render it with that height)."""
    height = max(height, 16)
    wide = width >= WIDE
    root = Layout(name="root")
    if wide:
        top = min(max(len(snap.sources) + 3, 7), 10)
        rest = height - 1 - top
        middle, bottom = _split(rest, [1, 1])
        root.split_column(Layout(header(snap), name="header", size=1), Layout(name="top", size=top),
                          Layout(name="middle", size=middle), Layout(name="bottom", size=bottom))
        root["top"].split_row(Layout(sources.render(snap, top - 2, wide=True), ratio=2),
                              Layout(pipeline.render(snap, top - 2, wide=True), ratio=1),
                              Layout(tickets.render(snap, top - 2, wide=True), ratio=1))
        root["middle"].split_row(Layout(categories.render(snap, middle - 2, wide=True), ratio=5),
                                 Layout(neighbourhoods.render(snap, middle - 2, wide=True), ratio=3),
                                 Layout(alerts.render(snap, middle - 2, wide=True), ratio=3))
        root["bottom"].update(hits.render(snap, bottom - 2, wide=True))
        return root
    n_alerts = min(len(snap.alerts), 2 if height < 30 else 4)
    src = min(max(len(snap.sources), 1) + 3, 6)
    mid = 6 if height < 30 else 7
    rest = height - 1 - n_alerts - src - mid
    cats, bottom = _split(rest, [1, 1])
    parts = [Layout(header(snap), name="header", size=1)]
    if n_alerts:
        from rich.console import Group
        parts.append(Layout(Group(*alerts.line(snap, n_alerts)), name="alerts", size=n_alerts))
    parts += [Layout(sources.render(snap, src - 2), name="sources", size=src), Layout(name="mid", size=mid),
              Layout(name="cats", size=cats), Layout(hits.render(snap, bottom - 2), name="hits", size=bottom)]
    root.split_column(*parts)
    root["mid"].split_row(Layout(pipeline.render(snap, mid - 2)), Layout(tickets.render(snap, mid - 2)))
    root["cats"].split_row(Layout(categories.render(snap, cats - 2)), Layout(neighbourhoods.render(snap, cats - 2)))
    return root


def plain_lines(snap: Snapshot, *, hits_n: int = 5) -> list[str]:
    """The frame as plain ``key: value`` lines, for stdout that is not a terminal."""
    p, d = snap.pipeline, snap.delivery
    ts = snap.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = [f"console {ts}: processes={p.processes_up}/{p.processes_total} rate_per_s="
           f"{'-' if p.rate_per_s is None else f'{p.rate_per_s:.1f}'} posts_in={p.posts_in} classified={p.classified} "
           f"actionable={p.actionable} queue={'-' if p.queue_depth is None else p.queue_depth} "
           f"lag={'-' if p.lag is None else p.lag} dead_letters={p.dead_letters_total} "
           f"dead_letters_hour={p.dead_letters_hour}"]
    if snap.error:
        out.append(f"  error: {snap.error}")
    for s in snap.sources:
        silent = s.updated_at is not None and (snap.now - s.updated_at).total_seconds() > snap.stale_after_s
        out.append(f"  source {s.name}: connected={'silent' if silent else 'yes' if s.connected else 'no'} posts_per_min="
                   f"{s.posts_per_minute:.0f} last_message={ago(s.last_message_at, snap.now)} "
                   f"reconnects={s.reconnects} errors={s.errors}" + (f" last_error={short(s.last_error, 80)}" if s.last_error else ""))
    out.append(f"  tickets: review={d.review} sent={d.sent} pending={d.pending + d.sending} failing={d.failing}")
    if snap.categories:
        out.append("  categories (1h/24h): " + ", ".join(f"{c.code} {c.hour}/{c.day}" for c in snap.categories[:8]))
    if snap.neighbourhoods:
        out.append("  neighbourhoods (open): " + ", ".join(f"{h.name} {h.open}" for h in snap.neighbourhoods[:8]))
    for h in snap.hits[:hits_n]:
        out.append(f"  hit {h.at.strftime('%H:%M:%S') if h.at else '-'} {h.category or '-'} "
                   f"{short(h.location or h.neighborhood or '-', 30)} score={h.score:.2f} "
                   f"ticket={h.ticket_status or '-'}: {short(h.text, 60)}")
    for a in snap.alerts:
        out.append(f"  ALERT [{a.severity}] {a.message}")
    return out
