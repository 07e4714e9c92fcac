"""How sure the classifier is of each post, and which of its words the model has never seen.

For active learning (docs/learning.md, "Posts to label"): the posts whose labels would teach the
model most are those it is least sure of and those using words it does not know.
:func:`doubts` runs the classifier's pipeline over the posts (the very prediction ``classify``
gives) and reads, for each scored post, the runner-up type and its gap that the ``civic_textcat``
component records beside its choice (the same calibrated probabilities, character n-grams included).

What callers may rely on: one :class:`Doubt` per post, in order; ``actionable``,
``actionable_score``, ``type`` and ``code`` are the classifier's own (rule override and vetoes
included); ``type_margin`` is ``p(top) - p(second)`` of the model's calibrated type
probabilities (0..1, None for a post the model did not score: empty, another language, a
repost, no known words); ``unknown_words`` are the post's normalised words
(:func:`civic_signal.classifiers.features.words`, letters only, at least 4 of them) whose
unigram feature the model has no weight for, in text order, without repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from civic_signal.classifiers.features import hash_word, words
from civic_signal.core.models import Post


@dataclass(frozen=True)
class Doubt:
    post_id: str
    actionable: bool
    actionable_score: float
    type: str | None
    code: str | None
    runner_up: str | None = None
    type_margin: float | None = None
    unknown_words: tuple[str, ...] = ()
    reason: str | None = None

    def margin(self, threshold: float) -> tuple[float, str] | None:
        """The smallest distance from another decision, with what it is between: the actionable
        score from ``threshold``, and for an actionable post also the top type's probability from
        the runner-up's. None for a post the model did not score."""
        if self.type_margin is None:
            return None
        out = (abs(self.actionable_score - threshold),
               f"actionable {self.actionable_score:.2f} vs threshold {threshold:.2f}")
        if self.actionable and self.type_margin < out[0]:
            out = (self.type_margin, f"{self.type} vs {self.runner_up} {self.type_margin:.2f} apart")
        return out


def _is_term(w: str) -> bool:
    return len(w) >= 4 and w.isalpha()


def doubts(classifier, posts: Sequence[Post]) -> list[Doubt]:
    """See the module docstring. ``classifier`` is a spaCy classifier (``SpacyClassifier`` or an
    ``ActiveClassifier`` over one): anything with ``docs(posts)`` and ``nlp``."""
    from civic_signal.classifiers.components import state
    model = classifier.nlp.get_pipe("civic_textcat").model
    out: list[Doubt] = []
    texts: list[list[str]] = []
    for post, doc in zip(posts, classifier.docs(posts), strict=True):
        u = state(doc)
        scored = u.get("type") is not None and u.get("type_margin") is not None
        out.append(Doubt(post_id=post.id, actionable=bool(u.get("actionable")),
                         actionable_score=float(u.get("actionable_score") or 0.0), type=u.get("type"),
                         code=u.get("category"), reason=u.get("reason"),
                         runner_up=u.get("runner_up") if scored else None,
                         type_margin=float(u["type_margin"]) if scored else None))
        texts.append(list(dict.fromkeys(w for w in words(post.text) if _is_term(w))))
    # words the model has no unigram weight for (one look-up for the whole batch)
    vocab = sorted({w for ws in texts for w in ws})
    known = dict(zip(vocab, (model.rows_array(np.fromiter((hash_word(w) for w in vocab), np.int64, len(vocab)))
                             != model.unknown).tolist())) if vocab else {}
    return [Doubt(**{**d.__dict__, "unknown_words": tuple(w for w in ws if not known.get(w, False))})
            for d, ws in zip(out, texts)]
