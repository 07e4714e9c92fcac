"""General rules for what makes a post *not* a report, whatever it talks about.

Each cue is a small regular expression over the lower-cased text. Cues reach the model as
pseudo-words (``cue=fixed``), and the strong ones also decide on their own
(:func:`veto`): a repost, a place in another city with no Boston place named, a problem
reported as already fixed (unless the post says it is back or still there), news wording.

What callers may rely on: :func:`find_cues` returns cue names from :data:`CUE_NAMES` in a
fixed order; :func:`veto` returns a reason string or ``None``.
"""

from __future__ import annotations

import re

_STREET_SUFFIX = r"(?!\s+(?:st|st\.|street|ave|ave\.|avenue|rd|road|pl|place|ter|terrace|sq|square|way|ct|court|" \
                 r"blvd|pkwy|parkway|dr|drive|ln|lane|hwy|highway|turnpike|tpke|high)\b)"

CUES: list[tuple[str, str]] = [
    ("repost", r"^\s*(?:rt|repost|via) @\w+"),
    ("fixed", r"\b(?:was|were|got|been|is|are|all|finally|now|just got|already|has been|have been) "
              r"(?:been )?(?:fixed|repaired|resolved|filled(?: in)?|patched|cleared|plowed|shoveled|shovelled|"
              r"cleaned(?: up)?|picked up|removed|replaced|repainted|taken care of|towed)\b|"
              r"thank(?:s| you)(?: so much)?(?: @\w+)? (?:for|to .{0,30} for) (?:fixing|clearing|filling|taking care|"
              r"the quick|responding|cleaning|removing|plowing|patching|repairing)|"
              r"\b(?:great|nice|good|amazing) (?:job|work)\b|shout ?out to|props to|kudos|"
              r"\b(?:no more|finally fixed|all fixed|fixed (?:already|in a day|quickly|fast))\b|"
              r"\bgracias (?:a la ciudad )?por arreglar"),
    ("still", r"\b(?:still|again|hasn'?t|haven'?t|wasn'?t|weren'?t|isn'?t|aren'?t|never|not yet|not (?:been )?fixed|never (?:got )?fixed|isn'?t fixed|back again|another one|"
              r"came back|re-?opened|(?:was|were) (?:supposedly )?fixed but|(?:was|were) not)\b"),
    ("other_city", r"\b(?:cambridge|somerville|brookline|quincy|newton|medford|malden|chelsea|everett|revere|"
                   r"worcester|springfield|lowell|lynn|waltham|nyc|new york|brooklyn|queens|bronx|manhattan|chicago|"
                   r"philly|philadelphia|providence|hartford|harvard sq(?:uare)?|central sq(?:uare)?|"
                   r"davis sq(?:uare)?|porter sq(?:uare)?|inman sq(?:uare)?|kendall sq(?:uare)?|"
                   r"@cambridgema|@somervillecity|@brooklinema|@nyc311|@quincyma)\b" + _STREET_SUFFIX),
    ("boston", r"\b(?:boston|dorchester|dot|roxbury|southie|south boston|jamaica plain|jp|mattapan|roslindale|"
               r"west roxbury|hyde park|charlestown|east boston|eastie|allston|brighton|back bay|south end|"
               r"north end|fenway|beacon hill|mission hill|@bos311|@cityofboston|bos311)\b"),
    ("news", r"\b(?:breaking|according to|study (?:finds|shows|says)|article|read more|watch:|our story|"
             r"press release|(?:mayor|city|council|councilor|governor|state) (?:announces?|announced|unveils?|"
             r"says|said|votes?|voted|debates?|approves?|approved|proposes?|proposed)|report:|op-?ed|"
             r"globe:|herald:|wbur|wgbh|nbc ?boston|wcvb|citywide|nationwide|per the data|statistics)\b"),
    ("joke", r"\b(?:lol|lmao|rofl|lmfao|haha\w*|jk|spirit animal|zip code|video game|energy today|"
             r"naming the|it'?s family)\b|😂|🤣|😆"),
    ("policy", r"\b(?:why does (?:the city|boston)|how does (?:the city|boston)|what'?s the (?:city'?s )?(?:policy|plan)|"
               r"what is the (?:city'?s )?(?:policy|plan)|is there a budget|who decides|does anyone know how|"
               r"how (?:does|do) (?:they|you) (?:decide|prioriti[sz]e)|budget|long term|policy|council meeting)\b"),
    ("request", r"\b(?:please|pls|plz|can (?:someone|you|the city)|send (?:someone|a crew)|needs? to be|"
                r"fix|remove|por favor)\b|@bos311"),
]
CUE_NAMES: tuple[str, ...] = tuple(n for n, _ in CUES)
_COMPILED = [(n, re.compile(p)) for n, p in CUES]


def find_cues(text_lower: str) -> list[str]:
    """The cues that fire on ``text_lower`` (already lower-cased)."""
    return [n for n, rx in _COMPILED if rx.search(text_lower)]


def veto(cues: list[str] | tuple[str, ...]) -> str | None:
    """A reason when the cues alone show the post is not a report to file, else ``None``."""
    c = set(cues)
    if "repost" in c:
        return "repost"
    if "other_city" in c and "boston" not in c:
        return "other city"
    if "fixed" in c and "still" not in c:
        return "already fixed or praise"
    if "news" in c and "request" not in c:
        return "news"
    return None
