"""Derive the compact, scrubbed training and held-out sets from the raw Open311 dump.

The dump (``boston_open311_2008_2018.jsonl.gz``, shared, never committed) holds free-text
descriptions that can name people or plates. Nothing leaves it verbatim:

- app-form prompts are cut ("Make of the abandoned car: ..." -> dropped; "How is the car parked
  illegally? Resident parking spot" -> "resident parking spot");
- every token with a digit becomes ``#``; ``[phone]``/``[email]`` placeholders go;
- a word is kept only if at least :data:`MIN_DOC_FREQ` records use it *and* at least
  :data:`MIN_LOWER_FREQ` records write it in lower case (names and plates are rare and
  capitalised; ordinary words are neither), everything else is dropped;
- texts are lower-cased, cut at 280 characters, de-duplicated and capped per label.

Labels: the records' own service names (Illegal Parking -> PRKGENFORC, Sidewalk Not Shoveled
-> UNSHVSDWLK, Abandoned Vehicle -> ABNDVHCL); "Other" records get the first matching rule of
:mod:`civic_signal.classifiers.categories` (weak label) or ``BOS311GEN`` when no rule matches.

Split by date: ``requested_datetime`` year <= 2017 -> training; 2018 -> held-out evaluation
(with the record's own lat/long and the street of its address appended, so that the location
hit rate can be measured). Deterministic: same dump in, same bytes out.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

from civic_signal.classifiers.categories import GENERAL, weak_label

NAME_TO_CODE = {"Illegal Parking": "PRKGENFORC", "Sidewalk Not Shoveled": "UNSHVSDWLK",
                "Abandoned Vehicle": "ABNDVHCL"}
MIN_DOC_FREQ = 25
MIN_LOWER_FREQ = 10
MAX_CHARS = 280
TRAIN_CAP = 2500        # per label, years <= 2017
EVAL_CAP = 60           # per label, 2018
SEED = 20181231

_DROP_PROMPTS = re.compile(
    r"^(?:make|model|color|colour) of the abandoned car|^license plate|^city owned|^agency name|"
    r"^case (?:\(sr\) )?type|^sr type|^referred to|^the user entered the address|^case number|^type of vehicle",
    re.I)
_PROMPT = re.compile(r"^\s*([A-Za-z][^:?|]{2,70}?)(?:\?|:)\s+(.*)$", re.S)
_KEEP_PROMPT_WORDS = re.compile(r"details|comments|problem|nature|describe|location|illegally|unshovell?ed", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*|\d[\w]*|[!?.,&/]")


def strip_form(description: str) -> str:
    """The free text of a description with the app-form prompts removed."""
    parts = []
    for seg in re.split(r"\s*\|\s*", description.replace("\r", " ")):
        seg = re.sub(r"\[(?:phone|email)\]\S*", " ", seg)
        if _DROP_PROMPTS.search(seg.strip()):
            continue
        m = _PROMPT.match(seg)
        if m and _KEEP_PROMPT_WORDS.search(m.group(1)) and len(m.group(1).split()) <= 8:
            seg = m.group(2)
        parts.append(seg.strip())
    return " ".join(p for p in parts if p)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


class Scrubber:
    """Keeps only words common across records (see the module docstring)."""

    def __init__(self, doc_freq: Counter, lower_freq: Counter, min_doc: int = MIN_DOC_FREQ,
                 min_lower: int = MIN_LOWER_FREQ) -> None:
        self.keep = {w for w, n in doc_freq.items() if n >= min_doc and lower_freq[w] >= min_lower}

    @classmethod
    def fit(cls, texts, min_doc: int = MIN_DOC_FREQ, min_lower: int = MIN_LOWER_FREQ) -> "Scrubber":
        doc_freq: Counter = Counter()
        lower_freq: Counter = Counter()
        for t in texts:
            toks = [x for x in _tokens(t) if x[0].isalpha()]
            doc_freq.update({x.lower() for x in toks})
            lower_freq.update({x for x in toks if x.islower()})
        return cls(doc_freq, lower_freq, min_doc, min_lower)

    def __call__(self, text: str) -> str:
        out = []
        for tok in _tokens(text):
            if tok[0].isdigit():
                out.append("#")
            elif not tok[0].isalpha() or tok.lower() in self.keep:
                out.append(tok.lower())
        s = " ".join(out)
        s = re.sub(r" ([!?.,])", r"\1", s)
        s = re.sub(r"(?:# ?){2,}", "# ", s)
        return s[:MAX_CHARS].strip()


def _street_of(address: str | None) -> str | None:
    """'25 Sheridan St, Jamaica Plain' -> '25 Sheridan St'; intersections kept as 'A St & B St'."""
    if not address:
        return None
    head = address.split(",")[0].strip()
    head = re.sub(r"^intersection of\s+", "", head, flags=re.I)
    return head or None


def read_dump(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def build(dump: Path, out_dir: Path) -> dict[str, int]:
    """Write ``open311_train.jsonl.gz`` and ``heldout_2018.jsonl`` under ``out_dir``; return counts."""
    records = []
    for r in read_dump(dump):
        desc = r.get("description")
        year = (r.get("requested_datetime") or "")[:4]
        if not desc or not year.isdigit() or r.get("service_name") not in (*NAME_TO_CODE, "Other"):
            continue
        records.append((int(year), r, strip_form(desc)))
    scrub = Scrubber.fit(t for _, _, t in records)
    train: dict[str, list[dict]] = defaultdict(list)
    held: dict[str, list[dict]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for year, r, text in records:
        raw_lower = text.lower()
        code = NAME_TO_CODE.get(r["service_name"]) or weak_label(raw_lower) or GENERAL
        clean = scrub(text)
        if len(clean.split()) < 3 or (code, clean) in seen:
            continue
        seen.add((code, clean))
        if year <= 2017:
            train[code].append({"text": clean, "code": code, "year": year,
                                "source": "open311:" + ("label" if r["service_name"] != "Other" else "weak")})
        elif year == 2018:
            street = _street_of(r.get("address"))
            row = {"text": f"{clean} at {street}" if street else clean, "code": code, "actionable": True,
                   "source": "open311-2018:" + ("label" if r["service_name"] != "Other" else "weak")}
            if r.get("lat") and r.get("long") and 42.2 < r["lat"] < 42.45:
                row.update(lat=round(r["lat"], 5), lon=round(r["long"], 5))
            held[code].append(row)
    rng = random.Random(SEED)
    train_rows, held_rows = [], []
    for code in sorted(train):
        rows = train[code]
        rng.shuffle(rows)
        train_rows.extend(rows[:TRAIN_CAP])
    for code in sorted(held):
        rows = held[code]
        rng.shuffle(rows)
        held_rows.extend(rows[:EVAL_CAP])
    out_dir.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(out_dir / "open311_train.jsonl.gz", "wb", mtime=0) as fh:
        for row in train_rows:
            fh.write((json.dumps(row, sort_keys=True) + "\n").encode())
    with (out_dir / "heldout_2018.jsonl").open("w") as fh:
        for i, row in enumerate(held_rows):
            fh.write(json.dumps({"id": f"bos2018-{i:04d}", **row}, sort_keys=True) + "\n")
    return {"train": len(train_rows), "heldout": len(held_rows), "vocabulary": len(scrub.keep)}
