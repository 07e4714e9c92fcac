"""The report's bar and line charts, drawn with matplotlib's Agg backend (no display needed).

Every chart is written at a fixed pixel size (:data:`CHART_PX`), so callers and tests may rely
on the PNG's width and height. A chart with nothing to show still exists and says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from civic_signal.sinks.reports.data import ReportRow, TicketLatency  # noqa: E402

#: (width, height) in pixels of every chart but the map.
CHART_PX = (1000, 500)
DPI = 100
TOP_CATEGORIES = 8


def new_figure(px: tuple[int, int] = CHART_PX) -> Figure:
    return plt.figure(figsize=(px[0] / DPI, px[1] / DPI), dpi=DPI)


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG at exactly its figure size (no tight bounding box), and close it."""
    fig.savefig(path, format="png", dpi=DPI)
    plt.close(fig)
    return path


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=14, color="#666", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def bin_width(start: datetime, end: datetime) -> timedelta:
    """Hours for up to 3 days, days for up to 90 days, weeks beyond."""
    span = end - start
    if span <= timedelta(days=3):
        return timedelta(hours=1)
    if span <= timedelta(days=90):
        return timedelta(days=1)
    return timedelta(weeks=1)


def floor_time(dt: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 5, tzinfo=timezone.utc)  # a Monday: weeks start on Mondays
    return epoch + ((dt - epoch) // width) * width


def volume_series(rows: Sequence[ReportRow]) -> tuple[list[datetime], dict[str, list[int]], timedelta]:
    """Actionable reports per time bin and category (top categories, the rest as ``other``)."""
    act = [r for r in rows if r.actionable and r.category]
    if not act:
        return [], {}, timedelta(hours=1)
    width = bin_width(act[0].created_at, act[-1].created_at)
    start, end = floor_time(act[0].created_at, width), floor_time(act[-1].created_at, width)
    bins = []
    t = start
    while t <= end:
        bins.append(t)
        t += width
    totals = Counter(r.category for r in act)
    top = [c for c, _ in totals.most_common(TOP_CATEGORIES)]
    index = {b: n for n, b in enumerate(bins)}
    series: dict[str, list[int]] = {c: [0] * len(bins) for c in top}
    if len(totals) > len(top):
        series["other"] = [0] * len(bins)
    for r in act:
        key = r.category if r.category in series else "other"
        series[key][index[floor_time(r.created_at, width)]] += 1
    return bins, series, width


def volume_chart(rows: Sequence[ReportRow], path: Path, title: str) -> Path:
    """Stacked bars: actionable reports per category over time (post time, UTC)."""
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    bins, series, width = volume_series(rows)
    if not bins:
        _empty(ax, "no actionable reports in this run")
    else:
        import matplotlib.dates as mdates
        x = mdates.date2num(bins)  # plain floats: bars with datetime units are many times slower
        w = width.total_seconds() / 86400 * 0.9
        bottom = [0] * len(bins)
        cmap = plt.get_cmap("tab10")
        for n, (cat, counts) in enumerate(series.items()):
            ax.bar(x, counts, width=w, bottom=bottom, align="edge", label=cat, color=cmap(n % 10))
            bottom = [a + b for a, b in zip(bottom, counts)]
        ax.xaxis_date(tz=timezone.utc)
        ax.set_ylabel("actionable reports")
        ax.set_xlabel(f"post time (UTC), per {_width_name(width)}")
        ax.legend(fontsize=8, ncols=3, loc="upper left")
        fig.autofmt_xdate()
    ax.set_title(title)
    fig.tight_layout()
    return save(fig, path)


def _width_name(width: timedelta) -> str:
    return {timedelta(hours=1): "hour", timedelta(days=1): "day"}.get(width, "week")


def top_locations(rows: Sequence[ReportRow], n: int = 15) -> list[tuple[str, int]]:
    """The places named most often by actionable reports (most specific place text known)."""
    return Counter(r.location for r in rows if r.actionable and r.location).most_common(n)


def locations_chart(rows: Sequence[ReportRow], path: Path, title: str) -> Path:
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    top = top_locations(rows)
    if not top:
        _empty(ax, "no located reports in this run")
    else:
        names = [name if len(name) <= 40 else name[:39] + "…" for name, _ in reversed(top)]
        ax.barh(names, [c for _, c in reversed(top)], color="#3b6ea5")
        ax.set_xlabel("actionable reports")
        ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return save(fig, path)


def latency_stats(lat: Sequence[TicketLatency]) -> dict[str, float]:
    """Count, median, 90th percentile and max of post-to-ticket latency, in minutes."""
    vals = sorted(x.minutes for x in lat)
    if not vals:
        return {"tickets": 0}

    def q(p: float) -> float:
        return vals[min(len(vals) - 1, int(round(p * (len(vals) - 1))))]
    return {"tickets": len(vals), "median_min": q(0.5), "p90_min": q(0.9), "max_min": vals[-1]}


def latency_chart(lat: Sequence[TicketLatency], path: Path, title: str) -> Path:
    """Histogram of minutes from post to ticket (log-spaced bins when the spread is wide)."""
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    vals = [max(x.minutes, 0.0) for x in lat]
    if not vals:
        _empty(ax, "no tickets for the posts of this run\n(replays queue none unless --send-tickets)")
    else:
        positive = [v for v in vals if v > 0]
        lo, hi = (min(positive), max(positive)) if positive else (0.0, 0.0)
        if positive and hi / lo > 100:
            import numpy as np
            edges = np.geomspace(lo, hi * 1.01, 30)
            ax.hist([max(v, lo) for v in vals], bins=edges, color="#a5503b")
            ax.set_xscale("log")
        else:
            ax.hist(vals, bins=30, color="#a5503b")
        ax.set_xlabel("minutes from post to ticket")
        ax.set_ylabel("tickets")
    ax.set_title(title)
    fig.tight_layout()
    return save(fig, path)
