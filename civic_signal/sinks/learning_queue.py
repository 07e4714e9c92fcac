"""Posts to label: the archived posts whose labels would teach the model most, a few a day.

``civic-signal review suggest`` (docs/learning.md, "Posts to label"). Candidates are the posts
of the last ``review.suggest_days`` days (the newest ``review.suggest_scan_max``), archived, not
deleted, not reposts, that no person has labelled (no ``person`` or ``review`` label). Each is
classified now by the active model (:func:`civic_signal.classifiers.uncertainty.doubts`), and
scores for each reason it has (the sum decides the order):

- **311 disagrees** (1.0): a 311 outcome label (kind ``open311``) contradicting the prediction
  (actionable or not, or another type): a person should confirm one or the other. A post whose
  311 outcome agrees with the prediction is not a candidate (nothing to learn);
- **new term** (0.5 to 1.0 with the number of posts): a word the model has no weight for, held
  by at least ``review.suggest_term_min_posts`` recent posts (the more, the higher);
- **low margin** (0 to 1, 1 at margin 0): the actionable score within
  ``review.suggest_max_margin`` of ``classifier.actionable_threshold``, or (actionable posts)
  the top two type probabilities that close.

Diversity: a post is skipped when its words overlap an already chosen post's by
:data:`NEAR_DUPLICATE` (Jaccard) or more, or when it holds a new term a chosen post holds.

What callers may rely on: at most ``review.suggest_per_day`` posts are offered per UTC day
(kept in ``label_suggestions``, one row per day and post); a post offered today is offered again
today, first, until it is labelled or deleted; a labelled post is never offered; the choice is
deterministic (ties by post id). A post deleted at its source loses its rows (:func:`forget`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from civic_signal.classifiers.features import words
from civic_signal.classifiers.uncertainty import Doubt
from civic_signal.core.models import Post
from civic_signal.sinks.archive.models import PostRow, utcnow
from civic_signal.sinks.labels import LabelRow

#: word-set Jaccard overlap at or above which two posts are "near-identical"
NEAR_DUPLICATE = 0.6
#: label kinds that say a person has labelled the post
PERSON_KINDS = ("person", "review")


class SuggestionRow(SQLModel, table=True):
    __tablename__ = "label_suggestions"
    __table_args__ = (sa.UniqueConstraint("day", "post_id", name="uq_label_suggestions_day_post"),)

    id: int | None = Field(default=None, primary_key=True)
    day: str = Field(index=True, max_length=10)          # YYYY-MM-DD (UTC)
    post_id: str = Field(index=True, max_length=200)
    rank: int
    score: float
    reasons: str = Field(max_length=1000)              # "; "-joined
    offered_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


S, P, L = SuggestionRow.__table__, PostRow.__table__, LabelRow.__table__


@dataclass(frozen=True)
class QueueSettings:
    """The ``review`` settings the selection uses (and the classifier's threshold)."""

    per_day: int = 5
    days: float = 7.0
    max_margin: float = 0.15
    term_min_posts: int = 3
    scan_max: int = 20000
    threshold: float = 0.5

    @classmethod
    def of(cls, settings) -> "QueueSettings":
        r = settings.review
        return cls(per_day=r.suggest_per_day, days=r.suggest_days, max_margin=r.suggest_max_margin,
                   term_min_posts=r.suggest_term_min_posts, scan_max=r.suggest_scan_max,
                   threshold=settings.classifier.actionable_threshold)


@dataclass(frozen=True)
class Suggestion:
    post_id: str
    text: str
    reasons: tuple[str, ...]
    score: float
    prediction: str            # "pothole (REQPOTHL) 0.93" or "not actionable 0.12"
    command: str               # the `civic-signal label ...` command with the best guess
    again: bool                # offered earlier today, not labelled yet


@dataclass(frozen=True)
class Day:
    day: str
    offered: int               # posts offered this day so far (labelled ones included)
    labelled: int              # of which labelled since
    suggestions: tuple[Suggestion, ...]


def _contradicts(label, d) -> bool:
    if bool(label.actionable) != d.actionable:
        return True
    return bool(label.actionable and label.type and d.type and label.type != d.type)


def _says(label) -> str:
    if not label.actionable:
        return "not actionable"
    return label.type or (f"code {label.code}" if label.code else "actionable")


def _prediction(d) -> str:
    if not d.actionable:
        return f"not actionable {d.actionable_score:.2f}" + (f" ({d.reason})" if d.reason and d.reason != "not a report" else "")
    return f"{d.type} ({d.code}) {d.actionable_score:.2f}"


def _command(post_id: str, guess_actionable: bool, guess_type: str | None) -> str:
    what = f"--type {guess_type}" if guess_actionable and guess_type else "--not-actionable"
    return f"civic-signal label {post_id} {what}"


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _labelled(conn, ids: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for i in range(0, len(ids), 500):
        out |= {r[0] for r in conn.execute(sa.select(L.c.post_id).where(
            L.c.post_id.in_(ids[i:i + 500]), L.c.kind.in_(PERSON_KINDS)))}
    return out


def _outcomes(conn, ids: Sequence[str]) -> dict:
    out: dict = {}
    for i in range(0, len(ids), 500):
        for r in conn.execute(sa.select(L).where(L.c.post_id.in_(ids[i:i + 500]), L.c.kind == "open311")
                              .order_by(L.c.created_at, L.c.id)):
            out[r.post_id] = r   # the newest wins
    return out


def _post(r) -> Post:
    return Post(id=r.id, source=r.source, text=r.text, created_at=r.created_at if r.created_at.tzinfo
                else r.created_at.replace(tzinfo=timezone.utc), language=r.language)


def suggest(engine: sa.Engine, score: Callable[[Sequence[Post]], list[Doubt]], cfg: QueueSettings, *,
            day: date | None = None) -> Day:
    """The day's posts to label (see the module docstring); records newly offered ones.
    ``score`` classifies posts now: :func:`civic_signal.classifiers.uncertainty.doubts` with the
    active model (``lambda posts: doubts(classifier, posts)``)."""
    from civic_signal.sinks.archive.store import insert_ignore
    day = day or datetime.now(timezone.utc).date()
    key = day.isoformat()
    start = datetime.combine(day, time(0), tzinfo=timezone.utc) - timedelta(days=cfg.days)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc)
    cols = (P.c.id, P.c.source, P.c.text, P.c.created_at, P.c.language)
    with engine.connect() as conn:
        offered = conn.execute(sa.select(S).where(S.c.day == key).order_by(S.c.rank)).all()
        offered_ids = [r.post_id for r in offered]
        labelled_today = _labelled(conn, offered_ids)
        kept = {r.id: r for r in conn.execute(sa.select(*cols).where(
            P.c.id.in_(offered_ids), P.c.deleted == sa.false(), P.c.text.is_not(None)))} if offered_ids else {}
        again = [r for r in offered if r.post_id in kept and r.post_id not in labelled_today]
        room = max(0, cfg.per_day - len(offered))
        recent = []
        if room:
            recent = conn.execute(sa.select(*cols).where(
                P.c.deleted == sa.false(), P.c.text.is_not(None), P.c.is_repost == sa.false(),
                P.c.created_at >= start, P.c.created_at < end)
                .order_by(P.c.created_at.desc(), P.c.id).limit(cfg.scan_max)).all()
        recent_ids = [r.id for r in recent]
        labelled = _labelled(conn, recent_ids)
        outcomes = _outcomes(conn, recent_ids + [r.post_id for r in again])

    rows = {r.id: r for r in recent} | {pid: kept[pid] for pid in (r.post_id for r in again)}
    ids = sorted(rows)
    found = dict(zip(ids, score([_post(rows[i]) for i in ids]), strict=True)) if ids else {}
    term_posts = Counter(w for r in recent for w in found[r.id].unknown_words)
    terms = {w for w, n in term_posts.items() if n >= cfg.term_min_posts}

    def wordset(pid: str) -> set[str]:
        return set(words(rows[pid].text))

    chosen_sets = [wordset(r.post_id) for r in again]
    chosen_terms = {w for r in again for w in found[r.post_id].unknown_words if w in terms}
    candidates = []
    for r in recent if room else ():
        if r.id in labelled or r.id in offered_ids:
            continue
        d = found[r.id]
        points, why = 0.0, []
        guess = (d.actionable, d.type)
        outcome = outcomes.get(r.id)
        if outcome is not None:
            if not _contradicts(outcome, d):
                continue   # the 311 outcome already says what the model says
            points += 1.0
            why.append(f"311 says {_says(outcome)}")
            guess = (bool(outcome.actionable), outcome.type)
        new = sorted((w for w in d.unknown_words if w in terms), key=lambda w: (-term_posts[w], w))
        if new:
            n = term_posts[new[0]]
            points += 0.5 + 0.5 * min(1.0, n / (4 * cfg.term_min_posts))
            why.append(f'new term "{new[0]}" ({n} recent posts)')
        m = d.margin(cfg.threshold)
        if m is not None and m[0] <= cfg.max_margin:
            points += 1.0 - m[0] / cfg.max_margin if cfg.max_margin else 1.0
            why.append(f"margin {m[0]:.2f} ({m[1]})")
        if why:
            candidates.append((-round(points, 6), r.id, tuple(why), set(new), guess))
    candidates.sort(key=lambda c: (c[0], c[1]))

    picked = []
    for neg, pid, why, new, guess in candidates:
        if len(picked) >= room:
            break
        ws = wordset(pid)
        if new & chosen_terms or any(_jaccard(ws, o) >= NEAR_DUPLICATE for o in chosen_sets):
            continue
        picked.append((pid, -neg, why, guess))
        chosen_sets.append(ws)
        chosen_terms |= new
    if picked:
        now = utcnow()
        base = max((r.rank for r in offered), default=0)
        insert_ignore(engine, S, [dict(day=key, post_id=pid, rank=base + i + 1, score=points,
                                       reasons="; ".join(why)[:1000], offered_at=now)
                                  for i, (pid, points, why, _) in enumerate(picked)], ["day", "post_id"])

    out = []
    for r in again:
        d = found[r.post_id]
        why = tuple(r.reasons.split("; "))
        if any(w.startswith("311 says") for w in why):
            label = outcomes.get(r.post_id)
            guess = (bool(label.actionable), label.type) if label is not None else (d.actionable, d.type)
        else:
            guess = (d.actionable, d.type)
        out.append(Suggestion(r.post_id, rows[r.post_id].text, why, r.score, _prediction(d),
                              _command(r.post_id, *guess), True))
    for pid, points, why, guess in picked:
        out.append(Suggestion(pid, rows[pid].text, why, points, _prediction(found[pid]), _command(pid, *guess), False))
    return Day(key, len(offered) + len(picked), len(labelled_today), tuple(out))


def forget(conn: sa.Connection, post_id: str) -> int:
    """Delete the post's suggestion rows (a post deleted at its source)."""
    return conn.execute(sa.delete(S).where(S.c.post_id == post_id)).rowcount or 0
