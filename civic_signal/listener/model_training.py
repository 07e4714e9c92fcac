"""``civic-signal model train``: a new model version from the shipped data plus the archive's labels.

Rows: :func:`civic_signal.classifiers.training.train.load_rows` (what ``make train`` uses) plus
one row per labelled post (:func:`civic_signal.sinks.labels.training_rows`), each weighted
``label weight x`` :data:`LABEL_BOOST` on top of the per-group weighting of
:func:`~civic_signal.classifiers.training.train.train` (a group of a few dozen labelled posts
already counts per row many times a row of a large shipped group; the boost makes a person's
label outweigh shipped rows of the same size), plus one row per new term (:func:`term_rows`).
Training is
:func:`~civic_signal.classifiers.training.train.train_calibrated`, as the shipped model's.

Figures: :func:`heldout_figures` scores the new version on the three held-out files exactly as
``scripts/train_classifier.py`` scores the shipped model (the classifier, the classify command's
line handling and :func:`civic_signal.classifiers.evaluate.score`, coordinates stripped), so the
promotion gate compares like with like. The version is written under
``<models_dir>/<name>/`` through a temporary folder renamed at the end (a half-written version
is never listed). ``meta.json`` adds ``training_data_sha256`` (over the shipped rows' digest and
every label row, with its weight), ``archive_labels`` (labelled posts per kind), ``new_terms``, ``base`` (the
version active when training started), ``trained_at``, ``train_seconds`` and ``heldout``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zlib
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from civic_signal.classifiers.registry import Registry

#: a label's training weight is its stored weight (a person's 1.0, a 311 outcome's 0.3) times this
LABEL_BOOST = 2.0
#: the held-out files the figures are computed on (as scripts/train_classifier.py)
HELDOUT_FILES = ("heldout_2018", "handwritten_eval", "written_heldout")


def heldout_figures(model_dir: Path, data_dir: Path | None = None) -> dict:
    """The figures of the model in ``model_dir`` on each held-out file, as the shipped model's."""
    from civic_signal.classifiers.evaluate import score
    from civic_signal.classifiers.pipeline import SpacyClassifier
    from civic_signal.classifiers.training.train import DATA_DIR
    from civic_signal.listener.cli.classify_cmd import classify_lines
    data_dir = data_dir or DATA_DIR
    clf = SpacyClassifier.load(model_dir)
    out = {}
    for name in HELDOUT_FILES:
        path = data_dir / f"{name}.jsonl"
        if not path.exists():
            continue
        gold = [json.loads(ln) for ln in path.read_text().splitlines()]
        stripped = [json.dumps({k: v for k, v in g.items() if k not in ("lat", "lon")}) for g in gold]
        rep = score(gold, list(classify_lines(clf, stripped)))
        fig = {"macro_f1": rep.macro_f1, "macro_accuracy": rep.macro_accuracy,
               "actionable_accuracy": rep.actionable_accuracy, "location_hit_rate_300m": rep.location_hit_rate,
               "n": rep.n, "actionable_n": rep.actionable_n, "reports_n": rep.reports_n}
        if rep.chatter_flagged is not None:
            fig.update(chatter_flagged=rep.chatter_flagged, reports_kept=rep.reports_kept,
                       type_accuracy=rep.type_accuracy)
        out[name] = fig
    return out


def label_rows(engine) -> list[dict]:
    """The archive's labels as training rows, weighted (see the module docstring)."""
    from civic_signal.sinks.labels import training_rows
    rows = training_rows(engine)
    for r in rows:
        r["weight"] = r["weight"] * LABEL_BOOST
    return rows


_WORD = re.compile(r"[^\W\d_]{4,}")
#: a word is a "new term" of a label when at least this many labelled posts with that label hold it ...
TERM_MIN_POSTS = 5
#: ... at least this share of the labelled posts holding it have that label ...
TERM_MIN_SHARE = 0.8
#: ... and fewer shipped rows than this hold it
TERM_MAX_SHIPPED = 3
#: rows of the term in other reports' words, per labelled post holding it
TERM_CONTEXTS = 4


def _words(text: str) -> set[str]:
    return {w.rstrip("s") or w for w in _WORD.findall(text.casefold())}


def term_rows(labels: list[dict], shipped: list[dict]) -> list[dict]:
    """Rows per new term (a word the shipped data hardly holds, seen in at least
    :data:`TERM_MIN_POSTS` labelled posts that mostly share a label): the word alone, labelled as
    those posts, weighted ``LABEL_BOOST x sqrt(posts)``, and :data:`TERM_CONTEXTS` rows per post made of the word
    and a shipped real report's text (every k-th one, deterministic), labelled as those posts; all
    of them train the type head only (``actionable_weight`` 0). Like the taxonomy rows (a type
    name alone) of the shipped training: without it the label's signal spreads over every word of
    the labelled posts (their places, their phrasing) and the new word alone carries little of it."""
    by_word: dict[str, Counter] = {}
    for r in labels:
        key = (r["actionable"], tuple(r["types"]))
        for w in _words(r["text"]):
            by_word.setdefault(w, Counter())[key] += 1
    candidates = {w: c for w, c in by_word.items() if c.most_common(1)[0][1] >= TERM_MIN_POSTS}
    if not candidates:
        return []
    seen: Counter = Counter()
    for r in shipped:
        for w in _words(r["text"]) & candidates.keys():
            seen[w] += 1
    # contexts: real reports of the shipped data, every k-th (deterministic)
    real = [r for r in shipped if r.get("actionable") and r.get("types") and not r["source"].startswith(("label", "taxonomy", "catalogue"))]
    out = []
    for w in sorted(candidates):
        (key, n), total = candidates[w].most_common(1)[0], sum(candidates[w].values())
        if seen[w] < TERM_MAX_SHIPPED and n / total >= TERM_MIN_SHARE:
            # type head only: the actionable head learns from the labelled posts themselves (the
            # context rows are shipped reports already; counting them again moved its balance)
            out.append({"text": w, "types": key[1], "actionable": key[0], "source": "label:term",
                        "weight": LABEL_BOOST * n ** 0.5, "actionable_weight": 0.0})
            # the term in other reports' words, labelled as the term says: the term outweighs a
            # context that points elsewhere ("a <term> at the end of X Lane" is not a pothole)
            k = TERM_CONTEXTS * n
            step = max(1, len(real) // k)
            for i, r in enumerate(real[zlib.crc32(w.encode()) % step::step][:k]):
                text = f"{w} {r['text']}" if i % 2 else f"{r['text']} {w}"
                out.append({"text": text, "types": key[1], "actionable": key[0], "source": "label:term",
                            "weight": LABEL_BOOST, "actionable_weight": 0.0})
    return out


def new_terms(terms: list[dict]) -> list[str]:
    return [r["text"] for r in terms if " " not in r["text"]]


def data_digest(base_digest: str, labels: list[dict]) -> str:
    h = hashlib.sha256(base_digest.encode())
    for r in labels:
        h.update(f"\n{r['source']}\t{r['types']}\t{r['actionable']}\t{r['weight']}\t"
                 f"{r.get('actionable_weight')}\t{r['text']}".encode())
    return h.hexdigest()[:16]


def train_version(settings, archive, *, evaluate: bool = True, log=print) -> tuple[str, dict]:
    """Train, evaluate and write a new version; returns ``(name, meta)``."""
    from civic_signal.classifiers.training.train import load_rows, train_calibrated
    registry = Registry.from_settings(settings)
    base = registry.active()
    t0 = time.perf_counter()
    shipped = load_rows()
    labels = label_rows(archive.engine)
    terms = term_rows(labels, shipped)
    log(f"training on {len(shipped)} shipped rows + {len(labels)} labelled posts "
        f"({dict(Counter(r['source'] for r in labels))}), new terms: {new_terms(terms)} ...")
    kinds = dict(sorted(Counter(r["source"] for r in labels).items()))
    labels = labels + terms
    model = train_calibrated(shipped + labels)
    seconds = time.perf_counter() - t0
    name = registry.next_name()
    registry.dir.mkdir(parents=True, exist_ok=True)
    tmp = registry.dir / f".{name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    model.meta.update(version=f"{model.meta.get('version', 'spacy-linear')}@{name}", base=base,
                      training_data_sha256=data_digest(model.meta.get("data_sha256", ""), labels),
                      archive_labels=kinds, new_terms=new_terms(terms),
                      trained_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      train_seconds=round(seconds, 1))
    model.save(tmp)
    if evaluate:
        t1 = time.perf_counter()
        model.meta["heldout"] = heldout_figures(tmp)
        model.meta["eval_seconds"] = round(time.perf_counter() - t1, 1)
        model.save(tmp)
    tmp.rename(registry.dir / name)
    return name, model.meta
