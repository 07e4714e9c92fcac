"""The CSV files written beside the report (UTF-8, header row, ISO 8601 UTC times)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from civic_signal.sinks.reports.charts import top_locations, volume_series
from civic_signal.sinks.reports.compare import Comparison
from civic_signal.sinks.reports.data import ReportRow, TicketLatency


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])
    return path


def posts_csv(rows: Sequence[ReportRow], path: Path) -> Path:
    return write_csv(path, ["post_id", "created_at", "actionable", "category", "actionable_score", "category_score",
                            "location", "neighborhood", "lat", "lon", "model_version", "reason"],
                     ((r.post_id, r.created_at.isoformat(), r.actionable, r.category, r.actionable_score,
                       r.category_score, r.location, r.neighborhood, r.lat, r.lon, r.model_version, r.reason)
                      for r in rows))


def volume_csv(rows: Sequence[ReportRow], path: Path) -> Path:
    bins, series, _ = volume_series(rows)
    return write_csv(path, ["bin_start", "category", "reports"],
                     ((b.isoformat(), cat, counts[n]) for n, b in enumerate(bins) for cat, counts in series.items()))


def neighborhoods_csv(counts: dict[str, int], path: Path) -> Path:
    return write_csv(path, ["neighborhood", "reports"], sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def locations_csv(rows: Sequence[ReportRow], path: Path) -> Path:
    return write_csv(path, ["location", "reports"], top_locations(rows, n=100))


def latency_csv(lat: Sequence[TicketLatency], path: Path) -> Path:
    return write_csv(path, ["ticket_id", "post_id", "service_code", "status", "post_created_at", "ticket_created_at",
                            "minutes", "jurisdiction"],
                     ((t.ticket_id, t.post_id, t.service_code, t.status, t.post_created_at.isoformat(),
                       t.ticket_created_at.isoformat(), round(t.minutes, 2), t.jurisdiction) for t in lat))


def confusion_csv(cmp: Comparison, path: Path) -> Path:
    return write_csv(path, [f"label_{cmp.run_a}", f"label_{cmp.run_b}", "posts"],
                     ((a, b, n) for (a, b), n in sorted(cmp.confusion.items(), key=lambda kv: -kv[1])))


def changes_csv(cmp: Comparison, path: Path) -> Path:
    def rows():
        for kind, items in (("gained", cmp.gained), ("lost", cmp.lost), ("changed", cmp.changed)):
            for c in items:
                yield kind, c.post_id, c.label_a, c.label_b, c.score_a, c.score_b
    return write_csv(path, ["change", "post_id", f"label_{cmp.run_a}", f"label_{cmp.run_b}", "score_a", "score_b"],
                     rows())

