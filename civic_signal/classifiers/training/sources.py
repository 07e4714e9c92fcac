"""Derive the compact, scrubbed training set from the labelled real reports in the shared data.

Sources (``../shared/data``, never committed): ``civic_reports/newhaven_seeclickfix.jsonl.gz``,
``civic_reports/dc_seeclickfix.jsonl.gz``, ``civic_reports/boston_open311_pre2019.jsonl.gz`` and
``cambridge/cambridge_requests.jsonl.gz``. Each row keeps its source's own label verbatim; the
label -> taxonomy-type mapping lives in ``config/data/taxonomy/sources/`` and is applied at
training time, so a mapping can be reviewed and changed without rebuilding this file.

Scrubbing, as for the Boston dump (:class:`~civic_signal.classifiers.training.open311_data.Scrubber`),
fitted on the union of all sources' texts: every token holding a digit becomes ``#``
(house numbers, plates, phones), ``[phone]``/``[email]`` placeholders go, and a word is kept only if
at least :data:`MIN_DOC_FREQ` reports use it *and* at least :data:`MIN_LOWER_FREQ` write it in lower
case (names and plates are rare and capitalised). Texts are lower-cased, cut at 280 characters;
rows with fewer than 3 words left and repeated (label, text) pairs are dropped.

Caps (deterministic, seeded): Boston keeps at most :data:`BOSTON_TRAIN_CAP` rows per label from
2017 and earlier and :data:`BOSTON_2018_CAP` per label from 2018 (the "Boston by date" test);
the other sources are kept whole. Output: ``reports.jsonl.gz``, one row
``{"text", "source", "label", "year"}``, sorted by source then original order; the mapping files
get their per-label row counts (``n``) rewritten.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

from civic_signal.classifiers.training.open311_data import Scrubber
from civic_signal.config.taxonomy import TAXONOMY

MIN_DOC_FREQ = 10
MIN_LOWER_FREQ = 5
BOSTON_TRAIN_CAP = 2500
BOSTON_2018_CAP = 500
SEED = 20261203
OUT_FILE = "reports.jsonl.gz"

FILES = {
    "newhaven_seeclickfix": "civic_reports/newhaven_seeclickfix.jsonl.gz",
    "dc_seeclickfix": "civic_reports/dc_seeclickfix.jsonl.gz",
    "boston_open311_pre2019": "civic_reports/boston_open311_pre2019.jsonl.gz",
    "cambridge_seeclickfix": "cambridge/cambridge_requests.jsonl.gz",
}
_PLACEHOLDER = re.compile(r"\[(?:phone|email)\]")


def _read(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            text = _PLACEHOLDER.sub(" ", r.get("text") or "").strip()
            if text and r.get("label"):
                yield text, r["label"], int(str(r.get("date") or "0")[:4] or 0)


def build(data: Path, out_dir: Path, taxonomy_dir: Path = TAXONOMY) -> dict[str, int]:
    raw = {name: list(_read(data / rel)) for name, rel in FILES.items() if (data / rel).exists()}
    if not raw:
        raise FileNotFoundError(f"none of the labelled sources is under {data}")
    scrub = Scrubber.fit((t for rows in raw.values() for t, _, _ in rows), MIN_DOC_FREQ, MIN_LOWER_FREQ)
    rng = random.Random(SEED)
    out: list[dict] = []
    counts: dict[str, Counter] = {}
    for name in sorted(raw):
        seen: set[tuple[str, str]] = set()
        by_label: dict[tuple[str, bool], list[dict]] = defaultdict(list)
        for text, label, year in raw[name]:
            clean = scrub(text)
            if len(clean.split()) < 3 or (label, clean) in seen:
                continue
            seen.add((label, clean))
            by_label[(label, year >= 2018)].append({"text": clean, "source": name, "label": label, "year": year})
        rows: list[dict] = []
        for (label, late), group in sorted(by_label.items()):
            if name == "boston_open311_pre2019":
                cap = BOSTON_2018_CAP if late else BOSTON_TRAIN_CAP
                if len(group) > cap:
                    keep = sorted(rng.sample(range(len(group)), cap))
                    group = [group[i] for i in keep]
            rows.extend(group)
        counts[name] = Counter(r["label"] for r in rows)
        out.extend(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(out_dir / OUT_FILE, "wb", mtime=0) as fh:
        for row in out:
            fh.write((json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n").encode())
    for name, c in counts.items():
        _write_counts(taxonomy_dir / "sources" / f"{name}.json", c)
    return {"rows": len(out), "vocabulary": len(scrub.keep), **{k: sum(v.values()) for k, v in counts.items()}}


def _write_counts(path: Path, counts: Counter) -> None:
    """Rewrite the per-label ``n`` of a mapping file; a label the file does not know is listed
    under ``unmapped`` with ``why = "not reviewed yet"``."""
    spec = json.loads(path.read_text())
    known = set()
    for part in ("labels", "untyped", "unmapped"):
        for label, entry in spec.get(part, {}).items():
            entry["n"] = counts.get(label, 0)
            known.add(label)
    for label in sorted(set(counts) - known):
        spec.setdefault("unmapped", {})[label] = {"why": "not reviewed yet", "n": counts[label]}
    for part in ("labels", "untyped", "unmapped"):
        spec[part] = dict(sorted(spec.get(part, {}).items(), key=lambda kv: (-kv[1]["n"], kv[0])))
    path.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n")
