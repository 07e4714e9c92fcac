"""Seeded Boston-like posts for benchmarks, from the sample-stream templates (no real posts)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from civic_signal.core.models import Coordinates, Post
from scripts.make_sample_stream import NOT_ACTIONABLE, PLACES, REPORTS, SPANISH

_FILLERS = ["", " please", " again", " since Monday", " @BOS311", " #boston", " this is dangerous",
            " my kids walk here", " for days now", " 😡", " smh"]


def posts(n: int, seed: int = 2026) -> list[Post]:
    """``n`` posts: about 60% reports across 21 categories, the rest chatter; 25% carry coordinates."""
    rng = random.Random(seed)
    reports = [(code, t) for code, ts in REPORTS.items() for t in ts] + list(SPANISH)
    start = datetime(2026, 11, 20, tzinfo=timezone.utc)
    out: list[Post] = []
    for i in range(n):
        coords = None
        if rng.random() < 0.6:
            _code, template = rng.choice(reports)
            place, _hood, lat, lon = rng.choice(PLACES)
            text = template.format(p=place) + rng.choice(_FILLERS)
            if rng.random() < 0.25:
                coords = Coordinates(lat=lat + rng.uniform(-1e-3, 1e-3), lon=lon + rng.uniform(-1e-3, 1e-3))
        else:
            text = rng.choice(NOT_ACTIONABLE) + rng.choice(_FILLERS)
        out.append(Post(id=f"bench:{seed}:{i}", source="bench", author=f"user{rng.randint(1, 5000)}", text=text,
                        created_at=start + timedelta(seconds=i), coordinates=coords, language="en"))
    return out


def labelled(n: int, seed: int = 2026) -> list[tuple[str, str | None]]:
    """(text, service code or None) pairs from the same templates, for reference-model sanity checks."""
    rng = random.Random(seed)
    reports = [(code, t) for code, ts in REPORTS.items() for t in ts]
    out = []
    for _ in range(n):
        if rng.random() < 0.6:
            code, template = rng.choice(reports)
            out.append((template.format(p=rng.choice(PLACES)[0]) + rng.choice(_FILLERS), code))
        else:
            out.append((rng.choice(NOT_ACTIONABLE) + rng.choice(_FILLERS), None))
    return out
