"""A small rule-based classifier: the fallback when no trained model is available, and the
baseline the spaCy pipeline is compared against. Same contract as every classifier."""

from __future__ import annotations

import re
from collections.abc import Sequence

from civic_signal.core.classifier import Classifier
from civic_signal.config.taxonomy import GENERAL_CODE, service_name
from civic_signal.core.models import Category, Classification, Post

#: (service code, pattern) in priority order.
RULES: list[tuple[str, str]] = [
    ("REQPOTHL", r"pot ?holes?|sinkhole"),
    ("STRLGTOUT", r"street ?lights? (?:is |are )?(?:out|off|dark|broken|flicker\w*)|lights? out on|dark street"),
    ("TFCSGNINSP", r"traffic (?:light|signal)s? (?:is |are )?(?:out|broken|stuck|dark|flashing)|signal (?:is )?(?:out|broken)"),
    ("GENGRAFFITI", r"graffiti|tagg(?:ed|ing)|spray ?paint"),
    ("NEEDRMVL", r"needles?|syringes?|sharps"),
    ("RODENTACT", r"\brats?\b|rodents?|\bmice\b"),
    ("PUDEADANML", r"dead (?:animal|raccoon|squirrel|cat|dog|rat|skunk|possum|opossum|bird|deer|goose)"),
    ("MTRECYDBI", r"(?:trash|recycling|garbage) (?:was |wasn't |not |never )?(?:picked up|collected)|missed (?:trash|recycling|pickup)"),
    ("EMPLITBSKT", r"overflowing (?:trash|litter|garbage)? ?(?:can|barrel|bin|basket)|(?:trash|litter) (?:can|barrel|bin|basket) (?:is )?overflowing"),
    ("ILGLDUMP", r"dump(?:ed|ing)|mattress(?:es)? (?:left|on the)|couch (?:left|dumped|on the sidewalk)"),
    ("UNSHVSDWLK", r"(?:not|never|un)[ -]?shovell?ed|sidewalk (?:is )?(?:covered in|full of) (?:snow|ice)"),
    ("SNOWPLOW", r"plow|hasn'?t been plowed|unplowed"),
    ("ABNDVHCL", r"abandoned (?:car|vehicle|truck|van)|car (?:hasn'?t|has not) moved"),
    ("ABNDBIKE", r"abandoned (?:bike|bicycle)|bike (?:locked|chained) .* (?:months|weeks|forever)"),
    ("PRKGENFORC", r"(?:double|illegally) parked|parked (?:in|on|across) (?:the )?(?:bike lane|crosswalk|sidewalk|hydrant|driveway)|blocking (?:the )?(?:hydrant|driveway|crosswalk)"),
    ("TREEEMGNCY", r"tree (?:down|fell|fallen|blocking)|(?:fallen|downed) (?:tree|limb|branch)|(?:limb|branch) (?:down|fell)"),
    ("TREEMAINT", r"tree (?:needs|trimming|pruning)|overgrown tree|dead tree"),
    ("SDWRPR", r"sidewalk (?:is )?(?:broken|cracked|heaved|uneven|crumbling)|broken sidewalk|trip(?:ping)? hazard"),
    ("MISDMGSGN", r"(?:stop|street|one ?way|yield) sign (?:is )?(?:down|missing|knocked|broken|bent|gone)"),
    ("CATCHBASE", r"storm drain|catch ?basin|drain (?:is )?(?:clogged|blocked)|flood(?:ed|ing)"),
    ("WHLNCOMP", r"construction (?:noise|site)|jackhammer|(?:noise|noisy|loud) construction"),
    ("PVMTMRKINS", r"crosswalk (?:is )?(?:faded|gone|worn)|faded (?:crosswalk|lines|markings)|lane markings"),
]
_COMPILED = [(code, re.compile(rf"\b(?:{pat})", re.I)) for code, pat in RULES]
_NOT_ACTIONABLE = re.compile(
    r"\b(?:was fixed|got fixed|been fixed|fixed it|thank(?:s| you) (?:for fixing|@?BOS311)|"
    r"cambridge|somerville|new york|nyc|chicago|philly|city council (?:votes|voted|debate)|"
    r"lol|lmao|joke|budget|election|poll|article|according to)\b", re.I)
_SPANISH = re.compile(r"\b(?:el|la|los|las|hay|un|una|en|calle|esquina|de|que|está|por favor|basura|bache)\b", re.I)


def _language(post: Post) -> str:
    if post.language:
        return post.language
    words = post.text.split()
    hits = len(_SPANISH.findall(post.text))
    return "es" if words and hits / len(words) > 0.25 else "en"


class KeywordClassifier(Classifier):
    """Regular expressions over the text; no location (the spaCy pipeline adds it)."""

    version = "keyword-1"

    def __init__(self, actionable_threshold: float = 0.5) -> None:
        self.actionable_threshold = actionable_threshold

    def classify(self, posts: Sequence[Post]) -> list[Classification]:
        return [self._one(p) for p in posts]

    def classify_one(self, post: Post) -> Classification:
        return self._one(post)

    def _one(self, post: Post) -> Classification:
        lang = _language(post)
        base = dict(post_id=post.id, model_version=self.version, language=lang)
        text = post.text.strip()
        if not text:
            return Classification(actionable=False, actionable_score=0.0, reason="empty text", **base)
        if lang not in ("en", "es", "und"):
            return Classification(actionable=False, actionable_score=0.0, reason=f"language:{lang}", **base)
        if post.is_repost:
            return Classification(actionable=False, actionable_score=0.0, reason="repost", **base)
        code = next((c for c, rx in _COMPILED if rx.search(text)), None)
        negative = _NOT_ACTIONABLE.search(text)
        score = 0.0 if code is None else (0.2 if negative else 0.9)
        actionable = score >= self.actionable_threshold
        category = Category(code=code, name=service_name(code), score=0.9) if code and actionable else None
        return Classification(actionable=actionable, actionable_score=score, category=category,
                              reason=None if actionable else ("negated or off-topic" if code else "no report found"),
                              **base)


__all__ = ["KeywordClassifier", "GENERAL_CODE"]
