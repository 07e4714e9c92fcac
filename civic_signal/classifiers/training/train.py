"""Train the linear model from the data shipped in ``classifiers/data/``, deterministically.

Rows (:func:`load_rows`), each ``{"text", "types", "actionable", "source"}``:

- real reports, ``reports.jsonl.gz`` (New Haven, DC, Boston, Cambridge; built by
  :mod:`civic_signal.classifiers.training.sources`): a source label is mapped to taxonomy types
  by ``config/data/taxonomy/sources/``; a broad label gives several acceptable types; an
  *untyped* label (Boston's "Other") trains the actionable head only; unmapped labels are skipped;
- hand-written examples (``examples.json``, train split; Boston codes mapped to types), the
  hand-written report and chatter files ``written_train.jsonl`` and ``written_chatter.jsonl`` and the
  chatter frames ``chatter_frames.json`` (idioms, jokes, dreams, schedule questions, news, praise, ads,
  policy opinions, sports, weather, ... built on problem words) with their minimal pairs, the report
  frames (actionable, untyped); never the held-out ``written_heldout.jsonl`` nor ``written_dev.jsonl``;
- one row per taxonomy type name and description, and per Boston catalogue name and keyword;
  the catalogue's service descriptions ("You can request ...") as *not* reports (text about a
  service, like a schedule question);
- weak labels (Boston "Other" records labelled by the keyword rules, ``open311_train.jsonl.gz``,
  at most :data:`WEAK_CAP` per type) only for types that fewer than :data:`COVERED_MIN` real
  reports carry as their only type (street light out vs. pole down, needles, encampments, ...).

Both heads share the hashed features (:mod:`civic_signal.classifiers.features`):

- actionable: logistic loss, the two classes weighted to the same total;
- type: softmax over :func:`civic_signal.config.taxonomy.type_ids`, actionable rows with types only.
  A row with several acceptable types (a broad source label) is trained on the probability of the
  set (the target is the model's own distribution restricted to the set). Rows are weighted
  ``n / n_g`` per (source, label) group (every group the same total) so that rare types count. Actionable rows are
  weighted ``(n / n_source) ** 0.5`` per source inside each class (the two classes to the same total).

Calibration (:func:`fit_temperature`): the type logits are divided by a temperature fitted to
minimise the negative log-likelihood on held-out rows (every 5th real report by text hash is
held out, a model is trained on the rest, the temperature is fitted on the held-out rows; the
shipped model is then trained on every row and carries that temperature).

Optimiser: full-batch Adam over a sparse design matrix, float32, fixed number of steps, no
randomness: the same data gives the same weights (tested).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse

from civic_signal.classifiers.features import CHAR_BASE, char_ids, extras, feature_ids, is_char_id, signals
from civic_signal.classifiers.language import detect
from civic_signal.classifiers.model import LinearModel
from civic_signal.config.taxonomy import (GENERAL_TYPE, city_mapping, services, source_mapping, source_names,
                                          type_ids, types)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
REPORTS_FILE = "reports.jsonl.gz"
WRITTEN_TRAIN = "written_train.jsonl"
#: hand-written typed reports (issue 14), one per line ``{"text", "type", "source": "written:types"}``;
#: training only, never evaluated (the cross-source folds test on real reports only)
WRITTEN_TYPES = "written_types.jsonl"
#: more hand-written chatter of every kind (and reports) for the actionable head (issue 14), its
#: own sources ``written2:<kind>`` so each kind counts beside the first file's
WRITTEN_CHATTER = "written_chatter.jsonl"
WEAK_CAP = 400


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 250
    learning_rate: float = 0.05
    l2: float = 1e-4
    min_count: int = 3
    rule_dropout_every: int = 2      # drop rule= features on every n-th weak-labelled row
    seed: int = 13
    #: chatter posts per report assumed in the stream the model reads (the classes are trained
    #: balanced; the actionable bias is shifted by -log(odds) so the score is a probability under
    #: this prior). Set a priori from the issue's observation that in a keyword-filtered stream
    #: look-alike chatter outnumbers reports many times; not tuned on any held-out set.
    chatter_prior_odds: float = 4.0
    #: L2 on the actionable column alone (None: ``l2``); lighter than the type head's: with 1e-4 it kept
    #: 91.7 % of held-out reports, with 1e-5 96.7 % (docs/classifier.md)
    l2_actionable: float | None = 1e-5
    #: type rows weighted (n / n_group) ** this power (0: as they come, 1: every group the same total)
    type_weight_power: float = 1.0
    #: character n-grams for the type head (issue 14): ``(lo, hi, min_len)`` as
    #: :func:`civic_signal.classifiers.features.char_ids` takes them, ``()`` for none. They get no
    #: actionable weight (the actionable column is trained exactly as without them)
    char_ngrams: tuple = (3, 5, 4)
    #: the type-head weight of each hand-written typed-report group (``written_types.jsonl``, one
    #: group per type) relative to any other (source, label) group
    written_types_weight: float = 1.0


def _code_types(code: str | None) -> tuple[str, ...]:
    if code is None:
        return ()
    t = city_mapping("boston").primary_type(code)
    return (t,) if t else (GENERAL_TYPE,)


def real_rows(data_dir: Path = DATA_DIR) -> list[dict]:
    """The labelled real reports mapped to types (unmapped labels dropped), in file order."""
    path = data_dir / REPORTS_FILE
    if not path.exists():
        return []
    maps = {s: source_mapping(s) for s in source_names()}
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            m = maps.get(r["source"])
            got = m.types_of(r["label"]) if m else None
            if got is None:
                continue
            rows.append({"text": r["text"], "types": tuple(got), "actionable": True, "source": r["source"],
                         "label": r["label"], "year": r.get("year", 0)})
    return rows


#: a type with fewer real reports labelled with it alone than this gets weak-labelled rows too
COVERED_MIN = 50


def covered_types(rows: list[dict]) -> set[str]:
    """The types that at least :data:`COVERED_MIN` real reports carry as their only type."""
    real = set(source_names())
    n = Counter(r["types"][0] for r in rows if r["source"] in real and len(r["types"]) == 1)
    return {t for t, k in n.items() if k >= COVERED_MIN}


def other_rows(data_dir: Path = DATA_DIR, covered: set[str] | None = None) -> list[dict]:
    """Every training row that is not a real labelled report (see the module docstring)."""
    from civic_signal.classifiers.training.examples import catalogue_rows, expand, expand_chatter, expand_report_frames
    rows: list[dict] = []
    for r in expand_chatter(data_dir / "chatter_frames.json"):
        rows.append({"text": r["text"], "types": (), "actionable": False, "source": r["source"]})
    for r in expand_report_frames(data_dir / "chatter_frames.json"):
        # the chatter frames' minimal pairs: actionable, no type (the actionable head only)
        rows.append({"text": r["text"], "types": (), "actionable": True, "source": r["source"]})
    for r in expand("train", data_dir / "examples.json"):
        rows.append({"text": r["text"], "types": _code_types(r["code"]), "actionable": r["actionable"],
                     "source": r["source"]})
    for name, prefix in ((WRITTEN_TRAIN, "written:"), (WRITTEN_CHATTER, "written2:")):
        written = data_dir / name
        if written.exists():
            for line in written.read_text().splitlines():
                if line.strip():
                    r = json.loads(line)
                    rows.append({"text": r["text"], "types": tuple([r["type"]] if r.get("type") else ()),
                                 "actionable": bool(r["actionable"]), "source": prefix + r.get("kind", "")})
    typed = data_dir / WRITTEN_TYPES
    if typed.exists():
        for line in typed.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                # type head only: the actionable head (reports vs. chatter) is trained as without them
                rows.append({"text": r["text"], "types": (r["type"],), "actionable": True,
                             "source": r.get("source", "written:types"), "actionable_weight": 0.0})
    for svc in services().values():
        # a catalogue description informs about a service ("You can request ..."): not a report
        if len(svc.description) > 30:
            rows.append({"text": svc.description, "types": (), "actionable": False, "source": "catalogue:about"})
    for r in catalogue_rows():
        rows.append({"text": r["text"], "types": _code_types(r["code"]), "actionable": True, "source": "catalogue"})
    for t in types().values():
        for text in (t.name, t.description):
            rows.append({"text": text.lower(), "types": (t.id,), "actionable": True, "source": "taxonomy"})
    weak = data_dir / "open311_train.jsonl.gz"
    if covered is not None and weak.exists():
        per: Counter = Counter()
        with gzip.open(weak, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                if r["source"] != "open311:weak":
                    continue
                ts = _code_types(r["code"])
                if ts and ts[0] not in covered and ts[0] != GENERAL_TYPE and per[ts[0]] < WEAK_CAP:
                    per[ts[0]] += 1
                    rows.append({"text": r["text"], "types": ts, "actionable": True, "source": "open311:weak"})
    return rows


def load_rows(data_dir: Path = DATA_DIR, exclude_source: str | None = None,
              before_year: dict[str, int] | None = None) -> list[dict]:
    """Every training row, in a fixed order; ``exclude_source`` leaves one real source out,
    ``before_year`` keeps only a source's rows from earlier years (``{"boston_open311_pre2019": 2018}``)."""
    real = [r for r in real_rows(data_dir) if r["source"] != exclude_source
            and not (before_year and r["source"] in before_year and r["year"] >= before_year[r["source"]])]
    return real + other_rows(data_dir, covered_types(real))


def row_features(row: dict, index: int, cfg: TrainConfig) -> list[int]:
    text = row["text"]
    cues, rules = signals(text)
    if row["source"] == "open311:weak" and index % cfg.rule_dropout_every == 0:
        rules = []
    ids = feature_ids(text, extras(cues, rules, detect(text)))
    if cfg.char_ngrams:
        ids += char_ids(text, *cfg.char_ngrams)
    return ids


def _row_types(row: dict) -> tuple[str, ...]:
    if "types" in row:
        return tuple(row["types"])
    return _code_types(row.get("code")) if row.get("actionable") else ()


def train(rows: list[dict], cfg: TrainConfig = TrainConfig(), version: str = "spacy-linear-2",
          labels: tuple[str, ...] | None = None) -> LinearModel:
    labels = labels or type_ids()
    ix = {c: i for i, c in enumerate(labels)}
    # a row's features: word features 0/1; character n-grams counted over the row's distinct words
    # (:func:`civic_signal.classifiers.features.char_ids`, as the classifier sums them at run time)
    feats = [Counter(row_features(r, i, cfg)) for i, r in enumerate(rows)]
    counts = Counter(f for fs in feats for f in fs)
    keys = np.array(sorted(f for f, n in counts.items() if n >= cfg.min_count), dtype=np.int64)
    col = {int(k): i for i, k in enumerate(keys.tolist())}
    indptr, indices, values = [0], [], []
    for fs in feats:
        for f in sorted(fs):
            if f in col:
                indices.append(col[f])
                values.append(float(fs[f]) if f >= CHAR_BASE else 1.0)
        indptr.append(len(indices))
    X = sparse.csr_matrix((np.array(values, np.float32), np.array(indices, np.int64),
                           np.array(indptr, np.int64)), shape=(len(rows), len(keys)))
    y_act = np.array([1.0 if r["actionable"] else 0.0 for r in rows])
    n_neg = len(rows) - y_act.sum()
    # actionable: each class half the total; inside a class, rows weighted (n / n_source) ** 0.5 so
    # that small, varied sets (written chatter) count beside large ones
    a_group = [(bool(r["actionable"]), r["source"]) for r in rows]
    a_counts = Counter(a_group)
    # a row's optional "weight" (archive labels, issue 17) multiplies its weight in both heads;
    # an optional "actionable_weight" replaces it in the actionable head
    w_row = np.array([float(r.get("weight", 1.0)) for r in rows])
    w_act = np.array([(a_counts[g] ** -0.5) for g in a_group]) * np.array(
        [float(r.get("actionable_weight", r.get("weight", 1.0))) for r in rows])
    for cls in (True, False):
        sel = np.array([g[0] == cls for g in a_group])
        if sel.any():
            w_act[sel] *= 0.5 / w_act[sel].sum()
    # acceptable-type mask per row (rows without types: no category loss)
    M = np.zeros((len(rows), len(labels)))
    group = []
    for i, r in enumerate(rows):
        ts = [ix[t] for t in _row_types(r) if t in ix] if r["actionable"] else []
        M[i, ts] = 1.0
        group.append((r["source"].split(":")[0], tuple(ts)) if ts else None)
    g_counts = Counter(g for g in group if g is not None)
    n_typed = sum(g_counts.values())
    w_cat = np.array([(n_typed / g_counts[g]) ** cfg.type_weight_power if g is not None else 0.0 for g in group])
    w_cat *= w_row
    if cfg.written_types_weight != 1.0:
        w_cat *= np.array([cfg.written_types_weight if r["source"] == "written:types" else 1.0 for r in rows])
    w_cat /= max(w_cat.sum(), 1e-12)
    typed = M.sum(axis=1) > 0

    W = np.zeros((len(keys), 1 + len(labels)), np.float32)
    b = np.zeros(1 + len(labels), np.float32)
    M = M.astype(np.float32)
    w_act, w_cat = w_act.astype(np.float32), w_cat.astype(np.float32)
    m_w, v_w, m_b, v_b = (np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b))
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    Xt = X.T.tocsr()
    l2_cols = np.full(1 + len(labels), cfg.l2, np.float32)
    if cfg.l2_actionable is not None:
        l2_cols[0] = cfg.l2_actionable
    # character n-gram rows take no actionable weight (their column-0 gradient is zeroed)
    act_mask = (~is_char_id(keys)).astype(np.float32)
    for step in range(1, cfg.steps + 1):
        Z = X @ W + b
        p_act = 1.0 / (1.0 + np.exp(-np.clip(Z[:, 0], -30, 30)))
        zc = Z[:, 1:] - Z[:, 1:].max(axis=1, keepdims=True)
        pc = np.exp(zc)
        pc /= pc.sum(axis=1, keepdims=True)
        # target: the model's distribution restricted to the acceptable types (one-hot for one type)
        q = pc * M
        # a row whose acceptable types all underflowed to 0 (a heavily weighted row early on) takes
        # its set uniformly, instead of 0/0 = NaN (issue 17: weighted label rows)
        qs = q[typed].sum(axis=1, keepdims=True)
        q[typed] = np.where(qs > 0, q[typed] / np.maximum(qs, 1e-30), M[typed] / M[typed].sum(axis=1, keepdims=True))
        G = np.empty_like(Z)
        G[:, 0] = (p_act - y_act) * w_act
        G[:, 1:] = (pc - q) * w_cat[:, None]
        gW = Xt @ G.astype(np.float32) + l2_cols * W
        gW[:, 0] *= act_mask
        gb = G.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * gW
        v_w = beta2 * v_w + (1 - beta2) * gW * gW
        m_b = beta1 * m_b + (1 - beta1) * gb
        v_b = beta2 * v_b + (1 - beta2) * gb * gb
        c1, c2 = 1 - beta1 ** step, 1 - beta2 ** step
        W -= cfg.learning_rate * (m_w / c1) / (np.sqrt(v_w / c2) + eps)
        b -= cfg.learning_rate * (m_b / c1) / (np.sqrt(v_b / c2) + eps)
    b[0] -= np.float32(np.log(cfg.chatter_prior_odds))
    # drop rows the optimiser left (near) zero: they change no prediction
    keep = np.abs(W).max(axis=1) > 1e-3
    digest = hashlib.sha256("\n".join(f"{r['source']}\t{_row_types(r)}\t{r['text']}" for r in rows)
                            .encode()).hexdigest()
    type_counts = Counter(labels[j] for i in np.flatnonzero(typed) for j in np.flatnonzero(M[i]))
    meta = {"version": version, "labels": "types", "rows": len(rows), "features": int(keep.sum()),
            "data_sha256": digest[:16], "train_config": cfg.__dict__,
            "label_counts": dict(sorted(type_counts.items())), "negatives": int(n_neg), "temperature": 1.0}
    if cfg.char_ngrams:
        meta["char_ngrams"] = list(cfg.char_ngrams)
    return LinearModel(keys=keys[keep], weights=W[keep].astype(np.float32), bias=b.astype(np.float32),
                       codes=tuple(labels), meta=meta)


def calibration_split(rows: list[dict], every: int = 5) -> tuple[list[dict], list[dict]]:
    """``(train, held)``: every ``every``-th real report (by CRC-32 of its text) is held out."""
    real = set(source_names())
    held = [r for r in rows if r["source"] in real and zlib.crc32(r["text"].encode()) % every == 0]
    ids = {id(r) for r in held}
    return [r for r in rows if id(r) not in ids], held


def type_logits(model: LinearModel, texts: list[str]) -> np.ndarray:
    """The raw type logits (temperature 1) the model gives ``texts``, features as at training."""
    dummy = TrainConfig(rule_dropout_every=10**9, char_ngrams=tuple(model.meta.get("char_ngrams") or ()))
    rows = [model.rows(row_features({"text": t, "source": "eval"}, 1, dummy)) for t in texts]
    return model.logits(rows)[:, 1:]


def fit_temperature(logits: np.ndarray, accept: np.ndarray) -> float:
    """The temperature (0.25 .. 5, grid of 0.01 in log space) minimising the negative log
    probability of the acceptable set (``accept``: boolean mask, one row per logit row)."""
    best, best_t = np.inf, 1.0
    for t in np.exp(np.linspace(np.log(0.25), np.log(5.0), 161)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -np.log(np.maximum((p * accept).sum(axis=1), 1e-12)).mean()
        if nll < best - 1e-12:
            best, best_t = nll, float(t)
    return round(best_t, 4)


def accept_mask(model: LinearModel, rows: list[dict]) -> np.ndarray:
    ix = {c: i for i, c in enumerate(model.codes)}
    m = np.zeros((len(rows), len(model.codes)), bool)
    for i, r in enumerate(rows):
        m[i, [ix[t] for t in r["types"] if t in ix]] = True
    return m


def train_calibrated(rows: list[dict], cfg: TrainConfig = TrainConfig(), *, final: bool = True) -> LinearModel:
    """Fit the temperature on held-out real reports (see the module docstring); with ``final``
    retrain on every row and carry the temperature, else return the model trained without them."""
    fit_rows, held = calibration_split(rows)
    model = train(fit_rows, cfg)
    held = [r for r in held if r["types"]]
    if held:
        t = fit_temperature(type_logits(model, [r["text"] for r in held]), accept_mask(model, held))
    else:
        t = 1.0
    if final:
        model = train(rows, cfg)
    model.meta["temperature"] = t
    model.meta["calibration_rows"] = len(held)
    return model


def main(out: Path = MODEL_DIR, data_dir: Path = DATA_DIR) -> LinearModel:
    model = train_calibrated(load_rows(data_dir))
    model.save(out)
    return model


__all__ = ["TrainConfig", "train", "train_calibrated", "load_rows", "fit_temperature", "replace"]
