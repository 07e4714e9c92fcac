"""Expand the hand-written examples (``classifiers/data/examples.json``) into labelled posts.

Frames x problem phrases x places, deterministically: each (frame, phrase) pair is paired with
places picked by a seeded generator, so a rerun gives the same rows. ``split="train"`` uses only
the train frames, phrases and places; ``split="eval"`` only the eval ones (never trained on).

Each row: ``{"text", "code" (None when not actionable), "actionable", "source"}``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "examples.json"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _fill(frame: str, phrase: str, place: str, other: str) -> str:
    return frame.replace("{P}", _cap(phrase)).replace("{p}", phrase).replace("{L}", place).replace("{O}", other)


def expand(split: str = "train", path: Path = DATA, places_per_pair: int = 2, seed: int = 7) -> list[dict]:
    spec = json.loads(Path(path).read_text())
    rng = random.Random(f"{seed}:{split}")
    places = spec["places"][split]
    others = spec["places"]["other_cities"]
    rows: list[dict] = []

    def pick(seq: list[str], k: int) -> list[str]:
        return [seq[rng.randrange(len(seq))] for _ in range(k)]

    frames = spec["report_frames"][split]
    for code, phrases in sorted(spec["problems"].items()):
        for phrase in phrases[split]:
            for frame in frames:
                for place in pick(places, places_per_pair):
                    rows.append({"text": _fill(frame, phrase, place, ""), "code": code, "actionable": True,
                                 "source": "handwritten:report"})
    all_phrases = [p for code in sorted(spec["problems"]) for p in spec["problems"][code][split]
                   if code != "BOS311GEN"]
    coded = [(code, p) for code in sorted(spec["problems"]) for p in spec["problems"][code][split]
             if code != "BOS311GEN"]
    for kind, frames_by_split in sorted(spec["negative_frames"].items()):
        if kind == "other_city":
            # A report about another city is still a report: whether it becomes a ticket, and where, is the
            # jurisdiction router's decision (a city with a pack gets it, any other city is shown, not
            # ticketed), so the actionable head must not learn a city's name as "not a report".
            for frame in frames_by_split[split]:
                for code, phrase in pick(coded, 40 if split == "train" else 6):
                    rows.append({"text": _fill(frame, phrase, pick(places, 1)[0], pick(others, 1)[0]),
                                 "code": code, "actionable": True, "source": f"handwritten:{kind}"})
            continue
        for frame in frames_by_split[split]:
            for phrase in pick(all_phrases, 40 if split == "train" else 6):
                rows.append({"text": _fill(frame, phrase, pick(places, 1)[0], pick(others, 1)[0]), "code": None,
                             "actionable": False, "source": f"handwritten:{kind}"})
    for text in spec["chatter"][split]:
        rows.append({"text": text, "code": None, "actionable": False, "source": "handwritten:chatter"})
    for frame, code in spec["spanish"][split]:
        for place in pick(places, 4):
            rows.append({"text": _fill(frame, "", place, ""), "code": code, "actionable": True,
                         "source": "handwritten:spanish"})
    if split == "train":
        for frame in spec["spanish"]["negative"]:
            rows.append({"text": _fill(frame, "", pick(places, 1)[0], ""), "code": None, "actionable": False,
                         "source": "handwritten:spanish"})
    return rows


def catalogue_rows() -> list[dict]:
    """One short report per catalogue keyword of the codes we predict ("Pothole", "Street light out")."""
    from civic_signal.classifiers.categories import CODES
    from civic_signal.config.taxonomy import services
    rows = []
    svcs = services()
    for code in CODES:
        svc = svcs[code]
        for text in (svc.name, *svc.keywords):
            text = text.strip()
            if 3 <= len(text) <= 80:
                rows.append({"text": text.lower(), "code": code, "actionable": True, "source": "catalogue"})
    return rows


def write_eval(path: Path) -> int:
    """Write the hand-written held-out set as gold JSON lines (``civic-signal eval`` input)."""
    rows = expand("eval")
    with Path(path).open("w") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({"id": f"hw-{i:04d}", "text": r["text"], "code": r["code"],
                                 "actionable": r["actionable"], "source": r["source"]}, sort_keys=True) + "\n")
    return len(rows)


CHATTER_FRAMES = Path(__file__).resolve().parent.parent / "data" / "chatter_frames.json"


def expand_chatter(path: Path = CHATTER_FRAMES, per_frame: int = 8, seed: int = 11) -> list[dict]:
    """The chatter frames (``chatter_frames.json``) filled with problem phrases and places:
    ``per_frame`` rows per frame, deterministic, every row not actionable (training only)."""
    spec = json.loads(Path(path).read_text())
    rng = random.Random(seed)
    problems, places = spec["problems"], spec["places"]
    rows = []
    for kind, frames in sorted(spec["frames"].items()):
        for frame in frames:
            for p in rng.sample(problems, min(per_frame, len(problems))):
                text = frame.replace("{p}", p).replace("{L}", places[rng.randrange(len(places))])
                rows.append({"text": _cap(text), "code": None, "actionable": False, "source": f"chatter:{kind}"})
    return rows


def expand_report_frames(path: Path = CHATTER_FRAMES, per_frame: int = 8, seed: int = 12) -> list[dict]:
    """The report frames of ``chatter_frames.json`` (``report_frames``: the chatter frames' minimal
    pairs, the same problems, places, times and "still"/"again" in reports) filled with
    ``report_problems`` and places: ``per_frame`` rows per frame, deterministic, every row
    actionable with no type (``source`` ``frames:report:<group>``; training only)."""
    spec = json.loads(Path(path).read_text())
    rng = random.Random(seed)
    problems, places = spec.get("report_problems", []), spec["places"]
    rows = []
    for group, frames in sorted(spec.get("report_frames", {}).items()):
        for frame in frames:
            for p in rng.sample(problems, min(per_frame, len(problems))):
                text = frame.replace("{p}", p).replace("{L}", places[rng.randrange(len(places))])
                rows.append({"text": _cap(text), "code": None, "actionable": True, "source": f"frames:report:{group}"})
    return rows
