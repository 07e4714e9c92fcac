"""Our classifier beside two reference pipelines built from stock parts, on the same data:

- **spaCy reference**: ``spacy.blank("en")`` + ``entity_ruler`` holding the location gazetteer's
  phrase patterns (every phrase the :class:`~civic_signal.classifiers.location.LocationFinder` trie knows,
  matched on ``LOWER``) + ``textcat`` with ``spacy.TextCatBOW.v3`` (exclusive classes: the
  service codes and ``NONE`` for "not a report");
- **scikit-learn reference**: ``TfidfVectorizer`` (words and bigrams) + ``LinearSVC``.

Both are trained here, seeded and time-bounded (:func:`train_references`), on the classifier
engineer's training rows (:func:`civic_signal.classifiers.training.train.load_rows`), and scored on the same
held-out split as ours (:func:`heldout`). Throughput is measured on the generated benchmark
posts, 256 posts per call for everyone (the classify stage's batch size), each in a fresh process.

Accuracy (:func:`scores`): the predicted label (service code, or ``NONE``) equals the held-out
label; macro F1 and actionable accuracy come from the classifier engineer's scorer.
"""

from __future__ import annotations

import json
import pickle
import random
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.generate import posts as gen_posts
from bench.measure import peak_rss_mb, throughput

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "civic_signal" / "classifiers" / "data"
NONE = "NONE"
BATCH = 256


# -- data -------------------------------------------------------------------------------------
def training_rows() -> list[tuple[str, str]]:
    """(text, label) for every training row the classifier engineer trains on."""
    from civic_signal.classifiers.training.train import load_rows
    return [(r["text"], (r["code"] or NONE) if r["actionable"] else NONE) for r in load_rows()]


def heldout() -> dict[str, list[tuple[str, str]]]:
    """The held-out splits as (text, label): ``2018`` is the classifier engineer's held-out 2018
    Open311 split (``classifiers/data/heldout_2018.jsonl``, every line a report); ``examples``
    is the hand-written examples' eval split (frames, phrases and places never trained on, with
    non-reports), when :mod:`civic_signal.classifiers.training.examples` is there."""
    rows = []
    with (DATA / "heldout_2018.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            rows.append((r["text"], (r.get("code") or NONE) if r.get("actionable", True) else NONE))
    splits = {"2018": rows}
    try:
        from civic_signal.classifiers.training.examples import expand
        splits["examples"] = [(r["text"], (r["code"] or NONE) if r["actionable"] else NONE) for r in expand("eval")]
    except Exception:  # noqa: BLE001 - the eval examples are a bonus; the 2018 split is the core
        pass
    return splits


def score(gold: list[str], pred: list[str], split: str) -> dict[str, Any]:
    """Exact-label accuracy, plus macro F1 and actionable accuracy from the classifier
    engineer's scorer (:func:`civic_signal.classifiers.evaluate.score`, what ``civic-signal eval`` prints)."""
    from civic_signal.classifiers.evaluate import score as eval_score
    n = len(gold)
    out: dict[str, Any] = {f"{split}_acc": round(sum(g == p for g, p in zip(gold, pred)) / n, 3) if n else None}
    rep = eval_score([{"code": None if g == NONE else g} for g in gold],
                     [{"actionable": p != NONE, "category": None if p == NONE else {"code": p}} for p in pred])
    out[f"{split}_macro_f1"] = round(rep.macro_f1, 3)
    if split != "2018":
        out[f"{split}_actionable_acc"] = rep.actionable_accuracy
    out[f"{split}_n"] = n
    return out


def scores(predict) -> dict[str, Any]:
    """:func:`score` on every held-out split; ``predict(texts) -> labels``. ``accuracy`` is the 2018 one."""
    out: dict[str, Any] = {}
    for split, rows in heldout().items():
        out.update(score([g for _, g in rows], predict([t for t, _ in rows]), split))
    out["accuracy"] = out.get("2018_acc")
    return out


def location_patterns() -> list[dict[str, str]]:
    """Every phrase the location finder's trie holds, as ``entity_ruler`` phrase patterns."""
    from civic_signal.classifiers.location import LocationFinder
    out: list[dict[str, str]] = []

    def walk(node: dict, path: tuple[str, ...]) -> None:
        for k, v in node.items():
            if k == "":
                label = ("STREET" if v.streets or v.bare else "PLACE" if v.places else "HOOD" if v.hoods
                         else "FOREIGN")
                out.append({"label": label, "pattern": " ".join(path)})
            else:
                walk(v, (*path, k))
    walk(LocationFinder.default()._trie, ())
    return out


# -- training ---------------------------------------------------------------------------------
def train_references(out: str, max_rows: int = 12_000, max_train_s: float = 90, max_epochs: int = 5,
                     seed: int = 0) -> dict[str, Any]:
    """Train both references on the same seeded sample of at most ``max_rows`` training rows,
    each for at most ``max_train_s`` seconds, and save them under ``out``."""
    import spacy
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    rows = training_rows()
    rng = random.Random(seed)
    if len(rows) > max_rows:
        rows = rng.sample(rows, max_rows)
    labels = sorted({lab for _, lab in rows} | {NONE})
    texts, ys = [t for t, _ in rows], [lab for _, lab in rows]
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    svm = LinearSVC(C=0.5, random_state=seed).fit(vec.fit_transform(texts), ys)
    sk_s = time.perf_counter() - t0
    (outdir / "sklearn.pkl").write_bytes(pickle.dumps((vec, svm)))

    fix_random_seed(seed)
    t0 = time.perf_counter()
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("textcat", config={"model": {"@architectures": "spacy.TextCatBOW.v3",
                                                        "exclusive_classes": True, "ngram_size": 1,
                                                        "no_output_layer": False, "length": 262144}})
    for lab in labels:
        textcat.add_label(lab)
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {lab: float(lab == y) for lab in labels}})
                for t, y in rows]
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01  # Adam; the default 0.001 needs many more epochs than the time budget allows
    epochs = 0
    while epochs < max_epochs and time.perf_counter() - t0 < max_train_s:
        rng.shuffle(examples)
        for batch in minibatch(examples, size=256):
            nlp.update(batch, sgd=optimizer, drop=0.0)
            if time.perf_counter() - t0 > max_train_s:
                break
        epochs += 1
    # patterns after training: nlp.initialize() would empty the ruler (see FIELD-NOTES)
    ruler = nlp.add_pipe("entity_ruler", before="textcat", config={"phrase_matcher_attr": "LOWER"})
    patterns = location_patterns()
    ruler.add_patterns(patterns)
    sp_s = time.perf_counter() - t0
    nlp.to_disk(outdir / "spacy")
    return {"name": "reference training (same seeded sample for both)", "train_rows": len(rows),
            "labels": len(labels), "sklearn_train_s": round(sk_s, 1), "spacy_train_s": round(sp_s, 1),
            "spacy_epochs": epochs, "ruler_patterns": len(patterns), "peak_rss_mb": peak_rss_mb()}


# -- throughput + accuracy, one per fresh process ---------------------------------------------
def _batches(seq: list, size: int = BATCH):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def bench_ours(n: int, kind: str | None = None, repeat: int = 3) -> dict[str, Any]:
    from bench.stages import load_ours
    from civic_signal.core.models import Post

    clf, kind = load_ours(kind)
    batch = gen_posts(n)
    clf.classify(batch[:500])  # warm-up (lazy tables, caches)
    res = throughput(lambda: [clf.classify(b) for b in _batches(batch)], n, repeat=repeat)
    rss = peak_rss_mb()
    when = datetime(2018, 6, 1, tzinfo=timezone.utc)

    def predict(texts: list[str]) -> list[str]:
        posts = [Post(id=f"heldout:{i}", source="heldout", text=t, created_at=when) for i, t in enumerate(texts)]
        return [(c.category.code if c.actionable and c.category else NONE) for b in _batches(posts)
                for c in clf.classify(b)]
    label = "ours" if kind == our_kind_default() else "keyword rules (fallback)"
    return {"name": f"classifier: {label} ({kind}, {clf.version})", **res, "peak_rss_mb": rss, **scores(predict)}


def our_kind_default() -> str:
    from bench.stages import our_kind
    return our_kind()


def bench_spacy_ref(n: int, model_dir: str, repeat: int = 3) -> dict[str, Any]:
    import spacy

    nlp = spacy.load(Path(model_dir) / "spacy")
    texts = [p.text for p in gen_posts(n)]

    def run(items: list[str]) -> list[str]:
        out = []
        for doc in nlp.pipe(items, batch_size=BATCH):
            _ = doc.ents
            out.append(max(doc.cats, key=doc.cats.get))
        return out
    run(texts[:500])
    res = throughput(lambda: run(texts), n, repeat=repeat)
    return {"name": "classifier: spaCy reference (entity_ruler + TextCatBOW.v3)", **res, "peak_rss_mb": peak_rss_mb(),
            **scores(run)}


def bench_sklearn_ref(n: int, model_dir: str, repeat: int = 3) -> dict[str, Any]:
    vec, svm = pickle.loads((Path(model_dir) / "sklearn.pkl").read_bytes())
    texts = [p.text for p in gen_posts(n)]

    def run(items: list[str]) -> list[str]:
        return [y for b in _batches(items) for y in svm.predict(vec.transform(b)).tolist()]
    run(texts[:500])
    res = throughput(lambda: run(texts), n, repeat=repeat)
    return {"name": "classifier: scikit-learn reference (TF-IDF + LinearSVC)", **res, "peak_rss_mb": peak_rss_mb(),
            **scores(run)}
