"""Labels: what a person (or the 311 system) says a post is, kept in the archive (``labels``).

A label says of one archived post either "a report of this taxonomy type" (``type``; ``code`` the
Boston service code it maps to, when it came as a code) or "not actionable" (``actionable`` false).
It records who gave it (``by``), how (``kind``: ``person`` from ``civic-signal label``, ``review``
from ``review approve|reject``, ``open311`` from a status sync outcome), when, its ``weight`` in
training (a person's 1.0, a 311 outcome :data:`OUTCOME_WEIGHT`) and the prediction the post had
then (``old_code``, ``old_actionable``, ``old_version``: the live classification, if any).

What callers may rely on: :func:`record` replaces an earlier label of the same post by the same
``kind`` and ``by`` (a person changing their mind); :func:`training_rows` gives one row per
labelled post that still has its text (the newest label of the strongest kind wins); labels of a
post deleted at its source are deleted with it (:mod:`civic_signal.sinks.forget`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from civic_signal.config.errors import ConfigError
from civic_signal.sinks.archive.models import ClassificationRow, PostRow, utcnow

#: the training weight of a label inferred from a 311 outcome (a person's label weighs 1.0)
OUTCOME_WEIGHT = 0.3
#: which kind of label wins when a post has several (a person's decision over an inference)
KIND_RANK = {"person": 3, "review": 2, "open311": 1}


class LabelRow(SQLModel, table=True):
    __tablename__ = "labels"
    __table_args__ = (sa.UniqueConstraint("post_id", "kind", "by", name="uq_labels_post_kind_by"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: str = Field(index=True, max_length=200)
    actionable: bool
    type: str | None = Field(default=None, max_length=60)
    code: str | None = Field(default=None, max_length=40)
    kind: str = Field(max_length=20)           # person | review | open311
    by: str = Field(max_length=100)
    weight: float = 1.0
    old_code: str | None = Field(default=None, max_length=40)
    old_actionable: bool | None = None
    old_version: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class Label:
    """What a label says: ``type`` None with ``actionable`` False is "not a report"."""

    actionable: bool
    type: str | None = None
    code: str | None = None


L, P, C = LabelRow.__table__, PostRow.__table__, ClassificationRow.__table__


def label_for(*, code: str | None = None, type_: str | None = None, not_actionable: bool = False) -> Label:
    """Validate a label as a person gives it (exactly one of a code, a type, not actionable);
    a code is mapped to its taxonomy type through Boston's mapping. Raises :class:`ConfigError`."""
    from civic_signal.config.taxonomy import city_mapping, types
    given = sum(x is not None and x is not False for x in (code, type_, not_actionable))
    if given != 1:
        raise ConfigError("give exactly one of --code CODE, --type TYPE, --not-actionable")
    if not_actionable:
        return Label(actionable=False)
    if type_ is not None:
        if type_ not in types():
            raise ConfigError(f"unknown type {type_!r}", hint="see config/data/taxonomy/types for the type ids")
        return Label(actionable=True, type=type_)
    t = city_mapping("boston").primary_type(code)
    if t is None:
        raise ConfigError(f"unknown service code {code!r}", hint="a Boston service code, e.g. PTHLE01; or use --type")
    return Label(actionable=True, type=t, code=code)


def record(conn: sa.Connection, post_ids: Iterable[str], label: Label, *, kind: str, by: str,
           weight: float = 1.0, now: datetime | None = None) -> int:
    """Record ``label`` for each post that is archived and not deleted; returns how many."""
    now = now or utcnow()
    n = 0
    for pid in dict.fromkeys(post_ids):
        post = conn.execute(sa.select(P.c.id, P.c.deleted).where(P.c.id == pid)).first()
        if post is None or post.deleted:
            continue
        old = conn.execute(sa.select(C.c.category_code, C.c.actionable, C.c.model_version).where(C.c.post_id == pid)
                           .order_by((C.c.run_id == "live").desc(), C.c.id.desc())).first()
        conn.execute(sa.delete(L).where(L.c.post_id == pid, L.c.kind == kind, L.c.by == by[:100]))
        conn.execute(sa.insert(L).values(
            post_id=pid, actionable=label.actionable, type=label.type, code=label.code, kind=kind, by=by[:100],
            weight=weight, old_code=old.category_code if old else None, old_actionable=old.actionable if old else None,
            old_version=old.model_version if old else None, created_at=now))
        n += 1
    return n


def forget(conn: sa.Connection, post_id: str) -> int:
    """Delete every label of the post (a post deleted at its source)."""
    return conn.execute(sa.delete(L).where(L.c.post_id == post_id)).rowcount or 0


def training_rows(engine: sa.Engine) -> list[dict]:
    """One training row per labelled post with text: ``{"text", "types", "actionable", "source",
    "weight", "post_id"}`` (source ``label:<kind>``), ordered by post id (deterministic)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(L, P.c.text).select_from(L.join(P, P.c.id == L.c.post_id))
                            .where(P.c.deleted == sa.false(), P.c.text.is_not(None))).all()
    best: dict[str, object] = {}
    for r in rows:
        cur = best.get(r.post_id)
        if cur is None or (KIND_RANK.get(r.kind, 0), r.created_at, r.id) > (KIND_RANK.get(cur.kind, 0),
                                                                             cur.created_at, cur.id):
            best[r.post_id] = r
    out = []
    for pid in sorted(best):
        r = best[pid]
        out.append({"text": r.text, "types": (r.type,) if r.actionable and r.type else (),
                    "actionable": bool(r.actionable), "source": f"label:{r.kind}", "weight": float(r.weight),
                    "post_id": pid})
    return out


def counts(engine: sa.Engine) -> dict[str, int]:
    """Labels per kind."""
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(L.c.kind, sa.func.count()).group_by(L.c.kind)).all())


def ticket_posts(conn: sa.Connection, ticket_id: str) -> list[str]:
    """The posts behind a ticket: its incident's reports, else the ticket's own post."""
    from civic_signal.sinks.archive.models import TicketRow
    from civic_signal.sinks.incident_tables import IncidentReportRow
    T, R = TicketRow.__table__, IncidentReportRow.__table__
    row = conn.execute(sa.select(T.c.post_id, T.c.incident_id).where(T.c.id == ticket_id)).first()
    if row is None:
        return []
    ids = []
    if row.incident_id:
        ids = [r[0] for r in conn.execute(sa.select(R.c.post_id).where(R.c.incident_id == row.incident_id)
                                          .order_by(R.c.reported_at, R.c.id))]
    return ids or [row.post_id]


def code_label(code: str | None) -> Label:
    """"A report of the type behind Boston service code ``code``" (the actionable head only when
    the code maps to no type)."""
    from civic_signal.config.taxonomy import city_mapping
    t = city_mapping("boston").primary_type(code) if code else None
    return Label(actionable=True, type=t, code=code)


_INVALID = re.compile(r"\b(invalid|not valid|unfounded|no (?:issue|problem) found|nothing found|not a 311|"
                      r"could not (?:find|locate)|no action (?:needed|required))\b", re.I)
_DUPLICATE = re.compile(r"\bduplicate\b|\bdup(?:e|licated)?\b", re.I)


def outcome_label(ticket_code: str, status: str, notes: str | None, service_code: str | None) -> tuple[Label, str] | None:
    """The weak label a 311 outcome gives the ticket's posts, with why; None when it says nothing.

    Only a ``closed`` request speaks: notes saying it was invalid -> not actionable; a duplicate
    -> the ticket's category was right (another report of a real problem); closed under another
    service code -> that code's type. A plain "closed" (fixed) is not taken as a label.
    """
    if status != "closed":
        return None
    if notes and _INVALID.search(notes):
        return Label(actionable=False), "closed as invalid"
    if service_code and service_code != ticket_code:
        return code_label(service_code), f"closed under service code {service_code}"
    if notes and _DUPLICATE.search(notes):
        return code_label(ticket_code), "closed as duplicate"
    return None
