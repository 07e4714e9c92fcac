"""One report for one run (and, with ``compare``, what changed from another run).

:func:`build_report` writes into ``out_dir``: ``report.html`` (self-contained), the PNG charts
``volume.png``, ``expected.png``, ``map.png``, ``locations.png``, ``latency.png`` (sizes in
:data:`CHART_PX` and :data:`MAP_PX`), and the CSV files ``posts.csv``, ``volume.csv``,
``expected.csv`` (observed vs the seasonal baseline), ``neighborhoods.csv``, ``top_locations.csv``,
``latency.csv`` and, when comparing, ``compare_confusion.csv`` and
``compare_changes.csv``. Existing files of those names are replaced; nothing else is touched.
The files are recorded in ``exports``/``exported_posts`` with the posts they show: when one of those posts
is deleted at its source, they are removed (``civic_signal.sinks.forget``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from civic_signal.sinks.reports import charts, tables
from civic_signal.sinks.reports.charts import CHART_PX
from civic_signal.sinks.reports.compare import Comparison, compare_runs
from civic_signal.sinks.reports.data import load_latencies, load_rows
from civic_signal.sinks.reports.expected import expected_chart, expected_csv, expected_series
from civic_signal.sinks.reports.geo import load_neighborhoods
from civic_signal.sinks.reports.mapchart import MAP_PX, map_chart, neighborhood_counts
from civic_signal.sinks.reports.page import Chart, PageData, render

__all__ = ["Report", "build_report", "CHART_PX", "MAP_PX"]


@dataclass(frozen=True)
class Report:
    html: Path
    charts: dict[str, Path]
    csv: tuple[Path, ...]
    posts: int
    actionable: int
    comparison: Comparison | None


def _run_info(archive, run_id: str) -> dict[str, object]:
    from civic_signal.sinks.runs import get_run
    run = get_run(archive, run_id)
    if run is None:
        return {"run id": run_id, "note": "no row in the runs table (the live job, or a run made before it)"}
    return {"run id": run.id, "status": run.status, "source": run.source,
            "classifier": f"{run.classifier_kind} {run.classifier_version}", "settings": run.settings,
            "started": run.started_at.isoformat(), "finished": run.finished_at.isoformat() if run.finished_at else "",
            "posts read": run.posts_in, "classified": run.classified, "actionable": run.actionable,
            "dead letters": run.dead_letters, "tickets": "queued" if run.send_tickets else "not sent"}


def build_report(archive, run_id: str, out_dir: Path, *, compare: str | None = None, baseline=None) -> Report:
    """Write the report for ``run_id`` (compared with run ``compare`` if given) into ``out_dir``.

    ``baseline`` (a :class:`~civic_signal.sinks.forecast.model.Baseline`) gives the expected
    volumes; default: the shipped prior learnt from the archive's live reports.

    Raises :class:`civic_signal.config.errors.ConfigError` if a run has no classifications.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hoods = load_neighborhoods()
    rows = load_rows(archive, run_id, hoods)
    latencies = load_latencies(archive, run_id)
    counts = neighborhood_counts(rows, hoods)
    if baseline is None:
        from datetime import datetime, timezone

        from civic_signal.sinks.forecast.learn import ArchiveBaseline
        baseline = ArchiveBaseline(archive).baseline(datetime.now(timezone.utc))
    points, width = expected_series(rows, baseline)
    paths = {
        "volume": charts.volume_chart(rows, out / "volume.png", f"Actionable reports per category, run {run_id}"),
        "expected": expected_chart(points, width, out / "expected.png", f"Observed vs expected, run {run_id}"),
        "map": map_chart(rows, hoods, out / "map.png", f"Reports by neighbourhood, run {run_id}"),
        "locations": charts.locations_chart(rows, out / "locations.png", f"Top locations, run {run_id}"),
        "latency": charts.latency_chart(latencies, out / "latency.png", f"Post to ticket, run {run_id}"),
    }
    csvs = [tables.posts_csv(rows, out / "posts.csv"), tables.volume_csv(rows, out / "volume.csv"),
            expected_csv(points, out / "expected.csv"),
            tables.neighborhoods_csv(counts, out / "neighborhoods.csv"),
            tables.locations_csv(rows, out / "top_locations.csv"), tables.latency_csv(latencies, out / "latency.csv")]
    comparison = None
    if compare:
        other = load_rows(archive, compare, hoods)
        comparison = compare_runs(compare, other, run_id, rows)
        csvs += [tables.confusion_csv(comparison, out / "compare_confusion.csv"),
                 tables.changes_csv(comparison, out / "compare_changes.csv")]
    captions = {"volume": "post time in UTC; the largest categories, the rest as 'other'",
                "expected": "the seasonal baseline city-wide (docs/forecast.md): dashed the mean, band the 99.5 % "
                            "interval; red dots: above it",
                "map": "shade: actionable reports per neighbourhood; dots: reports with coordinates",
                "locations": "the most specific place known per report",
                "latency": "tickets.created_at - posts.created_at"}
    page = PageData(run_id=run_id, rows=rows,
                    charts=[Chart(k, k, p, captions[k]) for k, p in paths.items()],
                    run_info=_run_info(archive, run_id), neighborhoods=counts,
                    locations=charts.top_locations(rows), latency=charts.latency_stats(latencies),
                    csv_files=csvs, comparison=comparison)
    html_path = out / "report.html"
    html_path.write_text(render(page), encoding="utf-8")
    # a post deleted at its source later takes the report's files away (civic_signal.sinks.forget)
    archive.register_export([html_path, *paths.values(), *csvs],
                            [r.post_id for r in rows] + ([r.post_id for r in other] if compare else []))
    return Report(html=html_path, charts=paths, csv=tuple(csvs), posts=len(rows),
                  actionable=sum(r.actionable for r in rows), comparison=comparison)
