"""The report as one HTML page that renders offline: CSS inline, PNG charts embedded as base64
``data:`` URIs (the same PNGs are also written beside it), no external request of any kind.

Every chart is an ``<img class="chart" id="chart-NAME">``; a small inline script stamps each image
with ``data-loaded="WxH"`` once the browser has decoded it, so a headless browser's DOM dump shows
that the charts really loaded. All text from posts is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from civic_signal.config.taxonomy import service_name
from civic_signal.sinks.reports.compare import Change, Comparison
from civic_signal.sinks.reports.data import NOT_ACTIONABLE, ReportRow

MAX_EXAMPLES = 10
MAX_LABELS = 15

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1040px;color:#222;
     line-height:1.4;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em} td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums} td.diag{background:#e6f2e6}
figure{margin:1em 0} img.chart{max-width:100%;height:auto;border:1px solid #eee} .muted{color:#666;font-size:.9em}
.kpi{display:inline-block;margin:0 1.5em .5em 0} .kpi b{display:block;font-size:1.6em}
"""

_SCRIPT = """
document.querySelectorAll('img.chart').forEach(function(img){
  function stamp(){ if(img.naturalWidth){ img.setAttribute('data-loaded', img.naturalWidth+'x'+img.naturalHeight); } }
  if(img.complete){ stamp(); } else { img.addEventListener('load', stamp); }
});
"""


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    path: Path
    caption: str = ""


@dataclass
class PageData:
    run_id: str
    rows: Sequence[ReportRow]
    charts: list[Chart]
    run_info: dict[str, object]
    neighborhoods: dict[str, int]
    locations: list[tuple[str, int]]
    latency: dict[str, float]
    csv_files: list[Path]
    comparison: Comparison | None = None
    extra_charts: list[Chart] = field(default_factory=list)


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _img(chart: Chart) -> str:
    from civic_signal.sinks.reports.pngsize import png_size
    w, h = png_size(chart.path)
    data = base64.b64encode(chart.path.read_bytes()).decode("ascii")
    return (f'<figure><img class="chart" id="chart-{esc(chart.key)}" alt="{esc(chart.title)}" width="{w}" '
            f'height="{h}" src="data:image/png;base64,{data}"><figcaption class="muted">{esc(chart.caption)} '
            f'(<a href="{esc(chart.path.name)}">{esc(chart.path.name)}</a>)</figcaption></figure>')


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{esc(v)}</td>' if i in numeric else f"<td>{esc(v)}</td>"
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _name(label: str) -> str:
    return label if label == NOT_ACTIONABLE else f"{label} ({service_name(label)})"


def _summary(d: PageData) -> str:
    rows = d.rows
    act = [r for r in rows if r.actionable]
    located = [r for r in act if r.lat is not None]
    kpis = [("posts classified", len(rows)), ("actionable", len(act)), ("with a point", len(located)),
            ("categories", len({r.category for r in act if r.category})), ("tickets", int(d.latency.get("tickets", 0)))]
    out = "".join(f'<span class="kpi"><b>{n:,}</b>{esc(k)}</span>' for k, n in kpis)
    if rows:
        out += (f'<p class="muted">posts from {esc(rows[0].created_at.isoformat())} to '
                f'{esc(rows[-1].created_at.isoformat())} (UTC); model {esc(", ".join(sorted({r.model_version for r in rows})))}</p>')
    if d.run_info:
        out += _table(["run", "value"], [(k, json.dumps(v, default=str) if isinstance(v, dict) else v)
                                          for k, v in d.run_info.items()])
    return out


def _categories(rows: Sequence[ReportRow]) -> str:
    counts = Counter(r.category for r in rows if r.actionable and r.category)
    return _table(["category", "name", "reports"], [(c, service_name(c), n) for c, n in counts.most_common()], [2])


def _examples(title: str, items: Sequence[Change], run_a: str, run_b: str) -> str:
    if not items:
        return f"<h3>{esc(title)}: none</h3>"
    rows = [(c.post_id, _name(c.label_a), _name(c.label_b), c.text[:280]) for c in items[:MAX_EXAMPLES]]
    return (f"<h3>{esc(title)}: {len(items)}</h3>" +
            _table(["post", f"in {run_a}", f"in {run_b}", "text"], rows) +
            (f'<p class="muted">first {MAX_EXAMPLES} of {len(items)}; all in compare_changes.csv</p>'
             if len(items) > MAX_EXAMPLES else ""))


def _comparison(cmp: Comparison) -> str:
    labels = cmp.labels[:MAX_LABELS]
    head = "".join(f"<th>{esc(b)}</th>" for b in labels)
    body = ""
    for a in labels:
        cells = "".join(f'<td class="n{" diag" if a == b else ""}">{cmp.confusion.get((a, b), 0) or ""}</td>'
                        for b in labels)
        body += f"<tr><th>{esc(a)}</th>{cells}</tr>"
    table = (f'<table id="confusion"><thead><tr><th>{esc(cmp.run_a)} \\ {esc(cmp.run_b)}</th>{head}</tr></thead>'
             f"<tbody>{body}</tbody></table>")
    note = (f'<p class="muted">the {MAX_LABELS} most frequent labels; the full table is in compare_confusion.csv</p>'
            if len(cmp.labels) > MAX_LABELS else "")
    summary = (f"<p>{cmp.common:,} posts in both runs ({cmp.only_a:,} only in {esc(cmp.run_a)}, {cmp.only_b:,} only in "
               f"{esc(cmp.run_b)}); the runs agree on {cmp.agreement:.1%}. Gained (actionable only in "
               f"{esc(cmp.run_b)}): <b>{len(cmp.gained)}</b>; lost: <b>{len(cmp.lost)}</b>; category changed: "
               f"<b>{len(cmp.changed)}</b>. Rows: {esc(cmp.run_a)}; columns: {esc(cmp.run_b)}.</p>")
    return (f'<h2 id="compare">Compared with run {esc(cmp.run_a)}</h2>' + summary + table + note +
            _examples("Gained", cmp.gained, cmp.run_a, cmp.run_b) + _examples("Lost", cmp.lost, cmp.run_a, cmp.run_b) +
            _examples("Category changed", cmp.changed, cmp.run_a, cmp.run_b))


def render(d: PageData) -> str:
    charts = {c.key: c for c in d.charts}
    parts = [f"<h1>Civic Signal report: run {esc(d.run_id)}</h1>",
             f'<p class="muted">generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</p>', _summary(d)]
    if "volume" in charts:
        parts += ["<h2>Reports over time</h2>", _img(charts["volume"]), _categories(d.rows)]
    if "expected" in charts:
        parts += ["<h2>Observed vs expected</h2>", _img(charts["expected"])]
    if "map" in charts:
        parts += ["<h2>Where</h2>", _img(charts["map"]),
                  _table(["neighborhood", "reports"], sorted(((k, v) for k, v in d.neighborhoods.items() if v),
                                                             key=lambda kv: -kv[1]), [1])]
    if "locations" in charts:
        parts += ["<h2>Top locations</h2>", _img(charts["locations"]), _table(["location", "reports"], d.locations, [1])]
    if "latency" in charts:
        stats = [(k, f"{v:,.1f}" if isinstance(v, float) else v) for k, v in d.latency.items()]
        parts += ["<h2>From post to ticket</h2>", _img(charts["latency"]), _table(["latency", "value"], stats)]
    if d.comparison is not None:
        parts.append(_comparison(d.comparison))
    for c in d.extra_charts:
        parts.append(_img(c))
    if d.csv_files:
        links = "".join(f'<li><a href="{esc(p.name)}">{esc(p.name)}</a></li>' for p in d.csv_files)
        parts.append(f"<h2>Data</h2><ul>{links}</ul>")
    title = f"Civic Signal report: run {esc(d.run_id)}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
            f'<body>{"".join(parts)}<script>{_SCRIPT}</script></body></html>\n')
