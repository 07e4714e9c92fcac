"""Small text helpers shared by the panels: shortening, ages, sparklines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

SPARK = "▁▂▃▄▅▆▇█"


def short(text: str, n: int = 60) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: max(n - 1, 0)] + "…"


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def ago(then: datetime | None, now: datetime) -> str:
    """``"12s"``, ``"5m"``, ``"3h"``, ``"2d"`` or ``"-"``."""
    if then is None:
        return "-"
    s = max((now - then).total_seconds(), 0)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{s / 60:.0f}m"
    if s < 86400:
        return f"{s / 3600:.0f}h"
    return f"{s / 86400:.0f}d"


def sparkline(values: Sequence[int | float]) -> str:
    """One block character per value, scaled to the largest; zero is a space-like lowest bar."""
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return " " * len(values)
    out = []
    for v in values:
        if v <= 0:
            out.append(" ")
        else:
            out.append(SPARK[min(int(v / top * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)])
    return "".join(out)
