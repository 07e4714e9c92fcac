"""Observed vs expected: a run's actionable reports per category and time bin beside what the
seasonal baseline (:mod:`civic_signal.sinks.forecast`) expected city-wide for the same bins,
with its prediction interval. Written as ``expected.png`` (:data:`CHART_PX`) and ``expected.csv``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from civic_signal.sinks.reports.charts import _empty, _width_name, bin_width, floor_time, new_figure, save
from civic_signal.sinks.reports.data import ReportRow
from civic_signal.sinks.reports.tables import write_csv

TOP = 4


@dataclass(frozen=True)
class ExpectedPoint:
    """One category in one bin: what was seen, what was expected (mean and interval)."""

    bin_start: datetime
    category: str
    observed: int
    expected: float
    low: int
    high: int


def expected_series(rows: Sequence[ReportRow], baseline: Any, top: int = TOP
                    ) -> tuple[list[ExpectedPoint], timedelta]:
    """Points for the ``top`` categories of the run's actionable reports (bins as the volume chart)."""
    act = sorted((r for r in rows if r.actionable and r.category), key=lambda r: r.created_at)
    if not act:
        return [], timedelta(hours=1)
    width = bin_width(act[0].created_at, act[-1].created_at)
    start, end = floor_time(act[0].created_at, width), floor_time(act[-1].created_at, width)
    cats = [c for c, _ in Counter(r.category for r in act).most_common(top)]
    seen = Counter((floor_time(r.created_at, width), r.category) for r in act)
    out = []
    for cat in cats:
        t = start
        while t <= end:
            e = baseline.expect(cat, None, t, t + width)
            out.append(ExpectedPoint(t, cat, seen.get((t, cat), 0), round(e.mean, 3), e.low, e.high))
            t += width
    return out, width


def expected_chart(points: Sequence[ExpectedPoint], width: timedelta, path: Path, title: str) -> Path:
    """Small multiples, one per category: observed reports (line and dots), expected (dashed) and its interval (band)."""
    fig = new_figure()
    cats = list(dict.fromkeys(p.category for p in points))
    if not cats:
        _empty(fig.add_subplot(1, 1, 1), "no actionable reports in this run")
        fig.suptitle(title)
        return save(fig, path)
    import matplotlib.dates as mdates
    cols = 2 if len(cats) > 1 else 1
    rows = (len(cats) + cols - 1) // cols
    for n, cat in enumerate(cats):
        ax = fig.add_subplot(rows, cols, n + 1)
        pts = [p for p in points if p.category == cat]
        x = mdates.date2num([p.bin_start for p in pts])
        ax.fill_between(x, [p.low for p in pts], [p.high for p in pts], step="post", color="#9ecae1", alpha=0.6,
                        label="expected range")
        ax.step(x, [p.expected for p in pts], where="post", color="#3182bd", linestyle="--", label="expected")
        ax.step(x, [p.observed for p in pts], where="post", color="#a5503b", label="observed")
        above = [(xi, p.observed) for xi, p in zip(x, pts) if p.observed > p.high]
        if above:
            ax.plot([a for a, _ in above], [b for _, b in above], "o", color="#d62728", label="above range")
        ax.xaxis_date(tz=timezone.utc)
        loc = mdates.AutoDateLocator(maxticks=5)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        ax.set_title(cat, fontsize=9)
        ax.tick_params(labelsize=7)
        if n == 0:
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{title} (per {_width_name(width)}, city-wide)")
    fig.tight_layout()
    return save(fig, path)


def expected_csv(points: Sequence[ExpectedPoint], path: Path) -> Path:
    return write_csv(path, ["bin_start", "category", "observed", "expected", "expected_low", "expected_high"],
                     ((p.bin_start.isoformat(), p.category, p.observed, p.expected, p.low, p.high) for p in points))
