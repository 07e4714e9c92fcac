"""A small invented stream for replay and report tests (no real person's posts).

At ``actionable_threshold`` 0.5 the keyword classifier finds :data:`ACTIONABLE_AT_05` reports;
at 0.1 it also takes the three negated or joking ones (:data:`GAINED_AT_01`), all in the same
categories as their words. One line is not JSON (a dead letter).
"""

from __future__ import annotations

import json
from pathlib import Path

DORCHESTER = (42.288414, -71.058594)
BACK_BAY = (42.3505, -71.0760)
NORTH_END = (42.3647, -71.0542)

#: (id, ISO time, text, (lat, lon) or None)
POSTS = [
    ("fx:1", "2026-11-20T08:05:00Z", "Huge pothole on Dorchester Ave, nearly lost a tire", DORCHESTER),
    ("fx:2", "2026-11-20T09:10:00Z", "Another pothole on Adams St by the corner, please fix", DORCHESTER),
    ("fx:3", "2026-11-20T11:30:00Z", "Pothole in the bike lane on Boylston St", BACK_BAY),
    ("fx:4", "2026-11-20T15:45:00Z", "Pothole the size of a bathtub on Centre St", None),
    ("fx:5", "2026-11-20T18:00:00Z", "Fresh graffiti all over the wall on Hanover St", NORTH_END),
    ("fx:6", "2026-11-21T07:20:00Z", "Someone spray painted graffiti on the mailbox on Tremont", None),
    ("fx:7", "2026-11-21T09:00:00Z", "The pothole on Beacon St was fixed, thanks", None),
    ("fx:8", "2026-11-21T10:15:00Z", "That pothole on Cambridge St in Cambridge is a joke", None),
    ("fx:9", "2026-11-21T12:40:00Z", "lol the rats in the musical were great", None),
    ("fx:10", "2026-11-21T14:00:00Z", "Lovely morning walk along the Esplanade", BACK_BAY),
    ("fx:11", "2026-11-21T16:30:00Z", "Great game at Fenway tonight", None),
    ("fx:12", "2026-11-21T19:45:00Z", "Coffee at my favourite spot in the North End", NORTH_END),
]
ACTIONABLE_AT_05 = {"fx:1": "REQPOTHL", "fx:2": "REQPOTHL", "fx:3": "REQPOTHL", "fx:4": "REQPOTHL",
                    "fx:5": "GENGRAFFITI", "fx:6": "GENGRAFFITI"}
GAINED_AT_01 = {"fx:7": "REQPOTHL", "fx:8": "REQPOTHL", "fx:9": "RODENTACT"}
BAD_LINE = '{"id": "fx:broken", "text": '


def write_stream(path: Path) -> Path:
    lines = []
    for n, (pid, when, text, point) in enumerate(POSTS):
        obj = {"id": pid, "source": "fixture", "author": f"fixture_user_{n}", "text": text, "created_at": when,
               "language": "en"}
        if point:
            obj["coordinates"] = {"lat": point[0], "lon": point[1]}
        lines.append(json.dumps(obj))
        if n == 6:
            lines.append(BAD_LINE)
    path.write_text("\n".join(lines) + "\n")
    return path
