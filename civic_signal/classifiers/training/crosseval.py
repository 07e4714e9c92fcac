"""Cross-city evaluation: leave one labelled source out, train on the rest, test on it.

For every real source in ``reports.jsonl.gz`` (New Haven, DC, Boston, Cambridge) one fold: the
model is trained (:func:`~civic_signal.classifiers.training.train.train_calibrated`, temperature
fitted on held-out reports of the *training* sources, no retraining) on every row except that
source's, and run through the spaCy pipeline (no location component) on that source's typed
reports. One more fold, "Boston by date": Boston's rows from 2018 are held out, everything else
(Boston up to 2017 included) trains.

Figures per fold (:func:`measure`), on the held-out source's reports whose label maps to types:

- ``macro_accuracy``: for each gold class (a label's set of acceptable types; labels with the
  same set pooled), the share of reports whose predicted type is in the set; the mean over the
  classes with at least :data:`MIN_SUPPORT` reports (smaller ones are listed, not averaged);
- ``micro_accuracy``: the same over all typed reports;
- ``general_share``: the share of those reports (whose set does not hold the general type)
  predicted as the general type (``other`` -> ``BOS311GEN``);
- ``actionable_recall``: the share of all the source's reports (typed or not) the pipeline
  calls actionable (the vetoes run; a text naming another city is vetoed, as in production);
- ``ece`` and a reliability table: top type probability (calibrated) vs. being right, 10 equal
  bins of probability; ``ece_uncalibrated`` is the same with temperature 1.

The headline is the mean ``macro_accuracy`` over the held-out sources (not the date fold).
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from civic_signal.classifiers.training.train import DATA_DIR, TrainConfig, load_rows, real_rows, train_calibrated
from civic_signal.config.taxonomy import GENERAL_TYPE, source_names

MIN_SUPPORT = 5
BINS = 10
BOSTON = "boston_open311_pre2019"
DATE_YEAR = 2018


def _classify(model_dir: Path, texts: list[str]) -> list[dict]:
    from civic_signal.classifiers.components import state
    from civic_signal.classifiers.pipeline import SpacyClassifier
    from civic_signal.core.models import Post
    clf = SpacyClassifier.load(model_dir, location=False)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    posts = [Post(id=f"e{i}", source="eval", text=t, created_at=now) for i, t in enumerate(texts)]
    out = []
    for doc in clf.docs(posts):
        u = state(doc)
        out.append({"type": u.get("type"), "p": float(u.get("category_score") or 0.0),
                    "actionable": bool(u.get("actionable"))})
    return out


def _ece(conf: np.ndarray, right: np.ndarray) -> tuple[float, list[dict]]:
    table, ece = [], 0.0
    edges = np.linspace(0, 1, BINS + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        n = int(sel.sum())
        if n:
            c, a = float(conf[sel].mean()), float(right[sel].mean())
            ece += n / len(conf) * abs(c - a)
            table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": n, "confidence": round(c, 3), "accuracy": round(a, 3)})
    return round(ece, 4), table


def measure(rows: list[dict], predicted: list[dict], uncalibrated_p: list[float] | None = None) -> dict:
    """The figures of one fold (see the module docstring); ``rows`` and ``predicted`` aligned."""
    per: dict[tuple, list[bool]] = defaultdict(list)
    labels_of: dict[tuple, set] = defaultdict(set)
    conf, right, general, specific = [], [], 0, 0
    for r, p in zip(rows, predicted, strict=True):
        if not r["types"]:
            continue
        key = tuple(sorted(r["types"]))
        ok = p["type"] in r["types"]
        per[key].append(ok)
        labels_of[key].add(r["label"])
        conf.append(p["p"])
        right.append(ok)
        if GENERAL_TYPE not in r["types"]:
            specific += 1
            general += p["type"] == GENERAL_TYPE
    classes = {"|".join(k): {"n": len(v), "accuracy": round(sum(v) / len(v), 4),
                             "labels": sorted(labels_of[k])} for k, v in sorted(per.items())}
    counted = [v["accuracy"] for v in classes.values() if v["n"] >= MIN_SUPPORT]
    conf_a, right_a = np.array(conf), np.array(right, float)
    ece, table = _ece(conf_a, right_a) if len(conf) else (None, [])
    out = {"n_typed": len(conf), "n_all": len(rows),
           "macro_accuracy": round(float(np.mean(counted)), 4) if counted else None,
           "classes_averaged": len(counted), "micro_accuracy": round(float(right_a.mean()), 4) if len(conf) else None,
           "general_share": round(general / specific, 4) if specific else None,
           "actionable_recall": round(sum(p["actionable"] for p in predicted) / max(len(predicted), 1), 4),
           "ece": ece, "reliability": table, "classes": classes}
    if uncalibrated_p is not None and len(conf):
        typed_p = [q for r, q in zip(rows, uncalibrated_p) if r["types"]]
        out["ece_uncalibrated"] = _ece(np.array(typed_p), right_a)[0]
    return out


def run_fold(name: str, train_rows: list[dict], test_rows: list[dict], cfg: TrainConfig = TrainConfig(),
             work: Path | None = None) -> dict:
    model = train_calibrated(train_rows, cfg, final=False)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        model.save(Path(tmp))
        texts = [r["text"] for r in test_rows]
        predicted = _classify(Path(tmp), texts)
        t = model.meta["temperature"]
        model.meta["temperature"] = 1.0
        model.save(Path(tmp))
        raw = _classify(Path(tmp), texts)
    res = measure(test_rows, predicted, [p["p"] for p in raw])
    return {"fold": name, "temperature": t, "train_rows": len(train_rows), **res}


def folds(data_dir: Path = DATA_DIR) -> list[tuple[str, dict]]:
    """``(name, load_rows kwargs)`` of every fold: one per source present, then Boston by date."""
    present = sorted({r["source"] for r in real_rows(data_dir)})
    out = [(f"leave out {s}", {"exclude_source": s}) for s in present if s in source_names()]
    if BOSTON in present:
        out.append((f"{BOSTON} {DATE_YEAR} (trained on <= {DATE_YEAR - 1})", {"before_year": {BOSTON: DATE_YEAR}}))
    return out


def run(data_dir: Path = DATA_DIR, cfg: TrainConfig = TrainConfig(), only: str | None = None,
        progress=None) -> dict:
    real = real_rows(data_dir)
    results = []
    for name, kw in folds(data_dir):
        if only and only not in name:
            continue
        if "exclude_source" in kw:
            test = [r for r in real if r["source"] == kw["exclude_source"]]
        else:
            test = [r for r in real if r["source"] == BOSTON and r["year"] >= DATE_YEAR]
        res = run_fold(name, load_rows(data_dir, **kw), test, cfg)
        results.append(res)
        if progress:
            progress(res)
    loso = [r["macro_accuracy"] for r in results if r["fold"].startswith("leave out") and r["macro_accuracy"] is not None]
    gen = [r["general_share"] for r in results if r["fold"].startswith("leave out") and r["general_share"] is not None]
    return {"headline_macro_accuracy": round(float(np.mean(loso)), 4) if loso else None,
            "min_macro_accuracy": min(loso) if loso else None,
            "mean_general_share": round(float(np.mean(gen)), 4) if gen else None,
            "train_config": cfg.__dict__, "folds": results}


def render(rep: dict) -> str:
    lines = [f"{'fold':<58} {'n':>6} {'macro':>6} {'micro':>6} {'->gen':>6} {'act':>6} {'ECE':>6} {'ECE@T1':>6} {'T':>5}"]
    for f in rep["folds"]:
        def fmt(v):
            return f"{v:>6.3f}" if isinstance(v, (int, float)) else f"{'-':>6}"
        lines.append(f"{f['fold']:<58} {f['n_typed']:>6} {fmt(f['macro_accuracy'])} {fmt(f['micro_accuracy'])} "
                     f"{fmt(f['general_share'])} {fmt(f['actionable_recall'])} {fmt(f['ece'])} "
                     f"{fmt(f.get('ece_uncalibrated'))} {f['temperature']:>5.2f}")
    lines.append("")
    lines.append(f"headline (mean macro accuracy over held-out sources): {rep['headline_macro_accuracy']}; "
                 f"lowest {rep['min_macro_accuracy']}; mean share of specific reports -> general {rep['mean_general_share']}")
    for f in rep["folds"]:
        lines.append("")
        lines.append(f"{f['fold']}: per gold class (acceptable types: n, accuracy)")
        for k, v in sorted(f["classes"].items(), key=lambda kv: -kv[1]["n"]):
            mark = "" if v["n"] >= MIN_SUPPORT else "  (not averaged: n < %d)" % MIN_SUPPORT
            lines.append(f"  {k:<70} {v['n']:>5} {v['accuracy']:.3f}{mark}")
        lines.append("  reliability (top-type probability bin: n, mean probability, accuracy):")
        for b in f["reliability"]:
            lines.append(f"    {b['bin']}: {b['n']:>5} {b['confidence']:.3f} {b['accuracy']:.3f}")
    return "\n".join(lines)


__all__ = ["run", "render", "measure", "folds", "replace", "json"]
