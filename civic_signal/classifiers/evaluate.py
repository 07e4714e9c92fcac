"""Scores of the classifier against gold lines (what ``civic-signal eval`` prints).

A gold line is a classify input line (``text``, optional ``id``, ``lat``, ``lon``) plus any of:
``code`` (the gold service code; ``null`` means "not a report"), ``actionable`` (bool; when
absent it is ``code is not None`` if ``code`` is given). Figures:

- per gold category: precision, recall, F1 (a post predicted not actionable counts as predicted
  ``-``); macro F1 and macro accuracy (mean per-category recall) over the gold categories;
- actionable accuracy over the lines with a gold actionable value;
- location hit rate: share of lines with gold ``lat``/``lon`` whose predicted location lies
  within 300 m (a missing prediction is a miss), and the median error of the hits;
- a confusion summary: the most frequent (gold -> predicted) mistakes;
- when gold lines carry a ``kind`` (e.g. ``report``, ``joke``, ``news``): per kind, the share of
  its lines flagged actionable, plus ``chatter_flagged`` (share of the lines with a gold
  actionable false flagged actionable) and ``reports_kept`` (share of gold actionable lines
  flagged actionable);
- when gold lines carry a ``type``: the share of gold reports whose predicted type matches
  (``type_accuracy``, actionable or not).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

NONE = "-"
HIT_M = 300.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(min(1.0, a)))


@dataclass
class Report:
    per_category: dict[str, dict[str, float]] = field(default_factory=dict)
    macro_f1: float = 0.0
    macro_accuracy: float = 0.0
    actionable_accuracy: float | None = None
    actionable_n: int = 0
    location_hit_rate: float | None = None
    location_n: int = 0
    confusions: list[tuple[str, str, int]] = field(default_factory=list)
    n: int = 0
    flagged_by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    chatter_flagged: float | None = None
    reports_kept: float | None = None
    type_accuracy: float | None = None
    #: gold report lines (actionable, or with a code): what one report's worth of a figure is measured against
    reports_n: int = 0

    def as_dict(self) -> dict:
        return {"n": self.n, "macro_f1": self.macro_f1, "macro_accuracy": self.macro_accuracy,
                "actionable_accuracy": self.actionable_accuracy, "actionable_n": self.actionable_n,
                "location_hit_rate_300m": self.location_hit_rate, "location_n": self.location_n,
                "per_category": self.per_category,
                "confusions": [{"gold": g, "predicted": p, "count": n} for g, p, n in self.confusions],
                "flagged_by_kind": self.flagged_by_kind, "chatter_flagged": self.chatter_flagged,
                "reports_kept": self.reports_kept, "type_accuracy": self.type_accuracy, "reports_n": self.reports_n}


def score(gold: list[dict], predicted: list[dict], top_confusions: int = 15) -> Report:
    """``gold`` lines and the classify output for them (same order)."""
    rep = Report(n=len(gold))
    pairs: list[tuple[str, str]] = []
    act_ok = act_n = loc_hit = loc_n = 0
    for g, p in zip(gold, predicted, strict=True):
        if "error" in p:
            p = {"actionable": False, "category": None, "location": None}
        pred_code = (p.get("category") or {}).get("code") if p.get("actionable") else None
        if "code" in g:
            if g["code"] is not None:
                pairs.append((g["code"], pred_code or NONE))
        gold_act = g.get("actionable", (g["code"] is not None) if "code" in g else None)
        if gold_act is not None:
            act_n += 1
            act_ok += bool(p.get("actionable")) == bool(gold_act)
        if g.get("lat") is not None and g.get("lon") is not None:
            loc_n += 1
            loc = p.get("location") or {}
            if loc.get("lat") is not None and distance_m(g["lat"], g["lon"], loc["lat"], loc["lon"]) <= HIT_M:
                loc_hit += 1
    gold_codes = sorted({g for g, _ in pairs})
    tp = Counter(g for g, pr in pairs if g == pr)
    gold_n = Counter(g for g, _ in pairs)
    pred_n = Counter(pr for _, pr in pairs)
    for c in gold_codes:
        prec = tp[c] / pred_n[c] if pred_n[c] else 0.0
        rec = tp[c] / gold_n[c] if gold_n[c] else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rep.per_category[c] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
                               "support": gold_n[c]}
    if gold_codes:
        rep.macro_f1 = round(sum(v["f1"] for v in rep.per_category.values()) / len(gold_codes), 4)
        rep.macro_accuracy = round(sum(v["recall"] for v in rep.per_category.values()) / len(gold_codes), 4)
    if act_n:
        rep.actionable_accuracy, rep.actionable_n = round(act_ok / act_n, 4), act_n
    if loc_n:
        rep.location_hit_rate, rep.location_n = round(loc_hit / loc_n, 4), loc_n
    rep.confusions = [(g, pr, n) for (g, pr), n in Counter((g, pr) for g, pr in pairs if g != pr)
                      .most_common(top_confusions)]
    kinds: dict[str, list[bool]] = {}
    neg: list[bool] = []
    pos: list[bool] = []
    typed: list[bool] = []
    for g, p in zip(gold, predicted):
        flagged = bool(p.get("actionable")) and "error" not in p
        if g.get("kind"):
            kinds.setdefault(g["kind"], []).append(flagged)
            gold_act = g.get("actionable", g.get("code") is not None)
            (pos if gold_act else neg).append(flagged)
        if g.get("type"):
            typed.append((p.get("type") or (p.get("category") or {}).get("type")) == g["type"])
    rep.flagged_by_kind = {k: {"n": len(v), "flagged": round(sum(v) / len(v), 4)} for k, v in sorted(kinds.items())}
    if neg:
        rep.chatter_flagged = round(sum(neg) / len(neg), 4)
    if pos:
        rep.reports_kept = round(sum(pos) / len(pos), 4)
    rep.reports_n = sum(1 for g in gold if g.get("actionable", g.get("code") is not None))
    if typed:
        rep.type_accuracy = round(sum(typed) / len(typed), 4)
    return rep


def render(rep: Report) -> str:
    """A plain-text table of the report."""
    lines = [f"{'category':<12} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>6}"]
    for c, v in sorted(rep.per_category.items()):
        lines.append(f"{c:<12} {v['precision']:>6.3f} {v['recall']:>6.3f} {v['f1']:>6.3f} {v['support']:>6}")
    lines.append("")
    lines.append(f"lines: {rep.n}")
    lines.append(f"macro F1: {rep.macro_f1:.3f}   macro accuracy (mean recall): {rep.macro_accuracy:.3f}")
    if rep.actionable_accuracy is not None:
        lines.append(f"actionable accuracy: {rep.actionable_accuracy:.3f} (n={rep.actionable_n})")
    else:
        lines.append("actionable accuracy: n/a (no gold actionable values)")
    if rep.location_hit_rate is not None:
        lines.append(f"location hit rate within {HIT_M:.0f} m: {rep.location_hit_rate:.3f} (n={rep.location_n})")
    else:
        lines.append("location hit rate: n/a (no gold lat/lon)")
    lines.append("confusions (gold -> predicted: count):")
    for g, pr, n in rep.confusions:
        lines.append(f"  {g} -> {pr}: {n}")
    if not rep.confusions:
        lines.append("  none")
    if rep.flagged_by_kind:
        lines.append("flagged actionable, by kind: " + ", ".join(
            f"{k} {v['flagged']:.3f} (n={v['n']})" for k, v in rep.flagged_by_kind.items()))
        lines.append(f"chatter flagged: {rep.chatter_flagged}   reports kept: {rep.reports_kept}")
    if rep.type_accuracy is not None:
        lines.append(f"type accuracy on gold reports: {rep.type_accuracy:.3f}")
    return "\n".join(lines)
