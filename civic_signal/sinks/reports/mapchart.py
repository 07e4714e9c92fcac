"""The neighbourhood map: each neighbourhood shaded by its actionable reports, with report points.

Longitude is scaled by cos(latitude) so that Boston keeps its shape. Written at :data:`MAP_PX`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from civic_signal.sinks.reports.charts import new_figure, save
from civic_signal.sinks.reports.data import ReportRow
from civic_signal.sinks.reports.geo import Neighborhoods

MAP_PX = (1000, 800)


def neighborhood_counts(rows: Sequence[ReportRow], hoods: Neighborhoods) -> dict[str, int]:
    """Actionable reports per neighbourhood (every neighbourhood listed, zeros included)."""
    counts = Counter(r.neighborhood for r in rows if r.actionable and r.neighborhood)
    out = {name: 0 for name in hoods.names}
    for name, n in counts.items():
        out[name] = out.get(name, 0) + n
    return out


def _rings(geom):
    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    for p in polys:
        yield p.exterior


def map_chart(rows: Sequence[ReportRow], hoods: Neighborhoods, path: Path, title: str) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    counts = neighborhood_counts(rows, hoods)
    fig = new_figure(MAP_PX)
    ax = fig.add_subplot(1, 1, 1)
    cmap = plt.get_cmap("YlOrRd")
    top = max(counts.values()) if counts else 0
    norm = Normalize(vmin=0, vmax=max(top, 1))
    for name, shp in zip(hoods.names, hoods.shapes):
        for ring in _rings(shp):
            xs, ys = ring.xy
            ax.fill(xs, ys, facecolor=cmap(norm(counts.get(name, 0))), edgecolor="#555", linewidth=0.6)
        c = shp.representative_point()
        if shp.area > 0.00015:  # label the neighbourhoods big enough to hold a label
            ax.text(c.x, c.y, f"{name}\n{counts.get(name, 0)}", fontsize=6.5, ha="center", va="center", color="#222")
    pts = [(r.lon, r.lat) for r in rows if r.actionable and r.lat is not None and r.lon is not None]
    if pts:
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=9, c="#1f3b73", alpha=0.75, linewidths=0,
                   label=f"reports with a point ({len(pts)})", zorder=3)
        ax.legend(loc="lower right", fontsize=8)
    minx, miny, maxx, maxy = hoods.bounds
    ax.set_xlim(minx - 0.005, maxx + 0.005)
    ax.set_ylim(miny - 0.005, maxy + 0.005)
    ax.set_aspect(1 / math.cos(math.radians((miny + maxy) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, shrink=0.6, label="actionable reports")
    ax.set_title(title)
    fig.tight_layout()
    return save(fig, path)
