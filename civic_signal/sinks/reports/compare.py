"""What changed between two runs over the posts both classified.

The confusion table counts posts by (label in run A, label in run B), a label being the
category code or ``(not actionable)``. *Gained* posts are actionable in B only, *lost* posts
actionable in A only, *changed* posts actionable in both with different categories. Posts only
one of the runs saw are counted apart (``only_a``, ``only_b``) and never enter the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from civic_signal.sinks.reports.data import NOT_ACTIONABLE, ReportRow


@dataclass(frozen=True)
class Change:
    post_id: str
    text: str
    label_a: str
    label_b: str
    score_a: float
    score_b: float


@dataclass(frozen=True)
class Comparison:
    run_a: str
    run_b: str
    common: int
    only_a: int
    only_b: int
    confusion: dict[tuple[str, str], int]
    gained: tuple[Change, ...]
    lost: tuple[Change, ...]
    changed: tuple[Change, ...]

    @property
    def labels(self) -> list[str]:
        """Row/column labels of the confusion table, most frequent first."""
        totals: Counter[str] = Counter()
        for (a, b), n in self.confusion.items():
            totals[a] += n
            totals[b] += n
        return [label for label, _ in totals.most_common()]

    @property
    def agreement(self) -> float:
        same = sum(n for (a, b), n in self.confusion.items() if a == b)
        return same / self.common if self.common else 1.0


def compare_runs(run_a: str, rows_a: Sequence[ReportRow], run_b: str, rows_b: Sequence[ReportRow]) -> Comparison:
    by_a = {r.post_id: r for r in rows_a}
    by_b = {r.post_id: r for r in rows_b}
    common = [pid for pid in by_a if pid in by_b]
    confusion: Counter[tuple[str, str]] = Counter()
    gained, lost, changed = [], [], []
    for pid in common:
        a, b = by_a[pid], by_b[pid]
        confusion[(a.label, b.label)] += 1
        ch = Change(pid, a.text, a.label, b.label, a.actionable_score, b.actionable_score)
        a_act, b_act = a.label != NOT_ACTIONABLE, b.label != NOT_ACTIONABLE
        if b_act and not a_act:
            gained.append(ch)
        elif a_act and not b_act:
            lost.append(ch)
        elif a_act and b_act and a.label != b.label:
            changed.append(ch)
    return Comparison(run_a=run_a, run_b=run_b, common=len(common), only_a=len(by_a) - len(common),
                      only_b=len(by_b) - len(common), confusion=dict(confusion), gained=tuple(gained),
                      lost=tuple(lost), changed=tuple(changed))
