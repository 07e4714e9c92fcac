"""Analyst reports over archived runs: PNG charts, a self-contained HTML page, CSV files.

One idea per module:

- :mod:`~civic_signal.sinks.reports.data`: a run's rows out of the archive, as frozen :class:`ReportRow` values;
- :mod:`~civic_signal.sinks.reports.geo`: Boston's neighbourhood polygons and point-in-neighbourhood;
- :mod:`~civic_signal.sinks.reports.charts`: volume over time, top locations, post-to-ticket latency (matplotlib, Agg);
- :mod:`~civic_signal.sinks.reports.mapchart`: the neighbourhood map shaded by reports, with report points;
- :mod:`~civic_signal.sinks.reports.compare`: what changed between two runs (confusion, gained, lost, examples);
- :mod:`~civic_signal.sinks.reports.tables`: the CSV files written beside the report;
- :mod:`~civic_signal.sinks.reports.page`: the HTML page (images embedded as base64: it renders offline);
- :mod:`~civic_signal.sinks.reports.build`: all of the above for one run (and an optional second run).
"""

from civic_signal.sinks.reports.build import Report, build_report

__all__ = ["Report", "build_report"]
