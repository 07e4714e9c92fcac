"""Train the linear model from the data shipped in ``classifiers/data/``, deterministically.

Rows: the scrubbed Open311 training set (years <= 2017), the hand-written examples (train
split) and one row per catalogue keyword. Both heads share the hashed features
(:mod:`civic_signal.classifiers.features`):

- actionable: logistic loss, the two classes weighted to the same total;
- category: softmax over :data:`civic_signal.classifiers.categories.CODES`, actionable rows only, class
  weights ``(n / n_c) ** 0.5`` so rare services count without drowning the large ones.

Weak-labelled rows were labelled by the same rules that give the ``rule=`` features; those
features are dropped from every other such row, so the model must also learn the words.

Optimiser: full-batch Adam over a sparse design matrix, float64, fixed number of steps, no
randomness beyond seeded choices: the same data gives the same weights (tested).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from civic_signal.classifiers.categories import CODES, GENERAL
from civic_signal.classifiers.features import extras, feature_ids, signals
from civic_signal.classifiers.language import detect
from civic_signal.classifiers.model import LinearModel

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MODEL_DIR = Path(__file__).resolve().parent.parent / "model"


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 250
    learning_rate: float = 0.05
    l2: float = 1e-5
    min_count: int = 2
    rule_dropout_every: int = 2      # drop rule= features on every n-th weak-labelled row
    seed: int = 13


def load_rows(data_dir: Path = DATA_DIR) -> list[dict]:
    """Every training row, in a fixed order."""
    from civic_signal.classifiers.training.examples import catalogue_rows, expand
    rows: list[dict] = []
    train_file = data_dir / "open311_train.jsonl.gz"
    if train_file.exists():
        with gzip.open(train_file, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                rows.append({"text": r["text"], "code": r["code"], "actionable": True, "source": r["source"]})
    rows.extend(expand("train", data_dir / "examples.json"))
    rows.extend(catalogue_rows())
    return rows


def row_features(row: dict, index: int, cfg: TrainConfig) -> list[int]:
    text = row["text"]
    cues, rules = signals(text)
    if row["source"] == "open311:weak" and index % cfg.rule_dropout_every == 0:
        rules = []
    return feature_ids(text, extras(cues, rules, detect(text)))


def train(rows: list[dict], cfg: TrainConfig = TrainConfig(), version: str = "spacy-linear-1") -> LinearModel:
    codes = CODES
    code_ix = {c: i for i, c in enumerate(codes)}
    feats = [sorted(set(row_features(r, i, cfg))) for i, r in enumerate(rows)]
    counts = Counter(f for fs in feats for f in fs)
    keys = np.array(sorted(f for f, n in counts.items() if n >= cfg.min_count), dtype=np.int64)
    col = {int(k): i for i, k in enumerate(keys.tolist())}
    indptr, indices = [0], []
    for fs in feats:
        indices.extend(col[f] for f in fs if f in col)
        indptr.append(len(indices))
    X = sparse.csr_matrix((np.ones(len(indices)), np.array(indices, np.int64), np.array(indptr, np.int64)),
                          shape=(len(rows), len(keys)))
    y_act = np.array([1.0 if r["actionable"] else 0.0 for r in rows])
    n_pos, n_neg = y_act.sum(), len(rows) - y_act.sum()
    w_act = np.where(y_act > 0, 0.5 / max(n_pos, 1), 0.5 / max(n_neg, 1))
    y_cat = np.array([code_ix.get(r["code"] or GENERAL, code_ix[GENERAL]) if r["actionable"] else -1 for r in rows])
    cat_counts = Counter(y_cat[y_cat >= 0].tolist())
    n_act = sum(cat_counts.values())
    w_cat = np.array([(n_act / cat_counts[c]) ** 0.5 if c >= 0 else 0.0 for c in y_cat])
    w_cat /= w_cat.sum()
    Y = np.zeros((len(rows), len(codes)))
    Y[np.arange(len(rows))[y_cat >= 0], y_cat[y_cat >= 0]] = 1.0

    W = np.zeros((len(keys), 1 + len(codes)))
    b = np.zeros(1 + len(codes))
    m_w, v_w, m_b, v_b = (np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b))
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    Xt = X.T.tocsr()
    for step in range(1, cfg.steps + 1):
        Z = X @ W + b
        p_act = 1.0 / (1.0 + np.exp(-np.clip(Z[:, 0], -30, 30)))
        zc = Z[:, 1:] - Z[:, 1:].max(axis=1, keepdims=True)
        pc = np.exp(zc)
        pc /= pc.sum(axis=1, keepdims=True)
        G = np.empty_like(Z)
        G[:, 0] = (p_act - y_act) * w_act
        G[:, 1:] = (pc - Y) * w_cat[:, None]
        gW = Xt @ G + cfg.l2 * W
        gb = G.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * gW
        v_w = beta2 * v_w + (1 - beta2) * gW * gW
        m_b = beta1 * m_b + (1 - beta1) * gb
        v_b = beta2 * v_b + (1 - beta2) * gb * gb
        c1, c2 = 1 - beta1 ** step, 1 - beta2 ** step
        W -= cfg.learning_rate * (m_w / c1) / (np.sqrt(v_w / c2) + eps)
        b -= cfg.learning_rate * (m_b / c1) / (np.sqrt(v_b / c2) + eps)
    # drop rows the optimiser left (near) zero: they change no prediction
    keep = np.abs(W).max(axis=1) > 1e-3
    digest = hashlib.sha256("\n".join(f"{r['source']}\t{r['code']}\t{r['text']}" for r in rows).encode()).hexdigest()
    meta = {"version": version, "rows": len(rows), "features": int(keep.sum()), "data_sha256": digest[:16],
            "train_config": cfg.__dict__, "label_counts": {codes[c]: n for c, n in sorted(cat_counts.items())},
            "negatives": int(n_neg)}
    return LinearModel(keys=keys[keep], weights=W[keep].astype(np.float32), bias=b.astype(np.float32),
                       codes=codes, meta=meta)


def main(out: Path = MODEL_DIR, data_dir: Path = DATA_DIR) -> LinearModel:
    rows = load_rows(data_dir)
    model = train(rows)
    model.save(out)
    return model
