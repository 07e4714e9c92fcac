"""General rules for what makes a post *not* a report, whatever it talks about.

Each cue is a small regular expression over the lower-cased text. Cues reach the model as
pseudo-words (``cue=fixed``), and the strong ones also decide on their own
(:func:`veto`): a repost, a place in another city with no Boston place named, a problem
reported as already fixed (unless the post says it is back or still there), news wording,
and jokes or policy questions that ask for nothing. The last cues (``place``, ``time``,
``question``, ``event``, ``memory``, ``figurative``) describe the post (a street named, a time
or duration, a question, an ad or event notice, a memory or dream, a figure of speech) and are
features. Three of them also veto: an ad or event notice, a story, dream or memory (unless the
post says the problem is still there), and a question about a service that asks for nothing
done.

What callers may rely on: :func:`find_cues` returns cue names from :data:`CUE_NAMES` in a
fixed order; :func:`veto` returns a reason string or ``None``.
"""

from __future__ import annotations

import re

_STREET_SUFFIX = r"(?!\s+(?:st|st\.|street|ave|ave\.|avenue|rd|road|pl|place|ter|terrace|sq|square|way|ct|court|" \
                 r"blvd|pkwy|parkway|dr|drive|ln|lane|hwy|highway|turnpike|tpke|high|gdns|gardens|landing|park|" \
                 r"playground|school|village|circle|row|wharf|pier|crossing|plaza)\b)"
#: "E Newton St", "West Brookline St", "Paul Revere Park": Boston streets named after other towns
_STREET_PREFIX = r"(?<!\be )(?<!\bw )(?<!\bn )(?<!\bs )(?<!east )(?<!west )(?<!north )(?<!south )(?<!paul )(?<!old )"

CUES: list[tuple[str, str]] = [
    ("repost", r"^\s*(?:rt|repost|via) @\w+"),
    ("fixed", r"\b(?:was|were|got|been|is|are|all|finally|now|just got|has been|have been) "
              r"(?:been )?(?:fixed|repaired|resolved|filled(?: in)?(?! with| of)|patched|cleared|plowed|shoveled|shovelled|"
              r"cleaned(?: up)?|picked up|removed|replaced|repainted|taken care of|towed)\b|"
              r"thank(?:s| you)(?: so much)?(?: @\w+)? (?:for|to .{0,30} for) (?:fixing|clearing|filling|taking care|"
              r"the quick|responding|cleaning|removing|plowing|patching|repairing)|"
              r"\b(?:great|nice|good|amazing) (?:job|work)\b|shout ?out to|props to|kudos|"
              r"\b(?:no more|finally fixed|all fixed|fixed (?:already|in a day|quickly|fast))\b|"
              r"\bgracias (?:a la ciudad )?por arreglar"),
    ("still", r"\b(?:still|again|hasn'?t|haven'?t|wasn'?t|weren'?t|isn'?t|aren'?t|didn'?t|don'?t|doesn'?t|won'?t|can'?t|never|not yet|but|not (?:been )?fixed|never (?:got )?fixed|isn'?t fixed|back again|another one|"
              r"came back|re-?opened|(?:was|were) (?:supposedly )?fixed but|(?:was|were) not|"
              r"(?:has|have|had|is|are|did|does|do) not|not been|nothing (?:was|has|got)|no \w+ (?:has|have|was|were)|"
              r"none of|neither|barely|hardly|(?:poor|bad|terrible|awful|lousy) job|should(?: have|'ve) been|"
              r"needs? to be|plowed (?:back )?in)\b"),
    # \b first: it fails at most positions, before the eight look-behinds run (same matches)
    ("other_city", r"\b" + _STREET_PREFIX + r"(?:cambridge|somerville|brookline|quincy|newton|medford|malden|chelsea|everett|revere|"
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
             r"globe:|herald:|wbur|wgbh|nbc ?boston|wcvb|citywide|nationwide|per the data|statistics|"
             r"(?:residents|officials|police|neighbors|inspectors|experts|authorities) (?:say|said|rally|urge|warn)|"
             r"police:|no injuries|investigating|expect delays|tonight at \d+|details inside|survey (?:says|finds))\b"),
    ("joke", r"\b(?:lol|lmao|rofl|lmfao|haha\w*|jk|spirit animal|zip code|video game|energy today|"
             r"naming the|it'?s family)\b|😂|🤣|😆"),
    ("policy", r"\b(?:why does (?:the city|boston)|how does (?:the city|boston)|what'?s the (?:city'?s )?(?:policy|plan)|"
               r"what is the (?:city'?s )?(?:policy|plan)|is there a budget|who decides|does anyone know how|"
               r"how (?:does|do) (?:they|you) (?:decide|prioriti[sz]e)|budget|long term|policy|council meeting)\b"),
    ("ask", r"\b(?:please|pls|plz|send (?:someone|a crew)|por favor)\b|@bos311"),
    ("request", r"\b(?:please|pls|plz|can (?:someone|you|the city)|send (?:someone|a crew)|needs? to be|"
                r"fix|remove|por favor)\b|@bos311"),
    # what the text says about place, time, and what kind of post it is: features only, no veto
    ("place", r"\b(?:st|street|ave|avenue|rd|road|blvd|ln|lane|dr|pl|sq|ct|hwy|pkwy|ter|alley|corner|intersection|"
              r"block|in front of|across from|calle|esquina)\b"),
    ("time", r"\b(?:for (?:a |two |three |several |# |\d+ )?(?:days|weeks|months|hours|years)|since (?:monday|tuesday|"
             r"wednesday|thursday|friday|saturday|sunday|yesterday|last|this|the|#|\d)|all (?:day|night|week)|"
             r"right now|this (?:morning|afternoon|evening|week)|tonight|today|yesterday|over a (?:week|month)|"
             r"desde hace)\b"),
    ("question", r"^(?:does|do|is|are|when|what|where|how|which|will|anyone know|can i|should i|do i)\b(?! not\b)"),
    ("event", r"\b(?:(?:yard|garage|moving|estate|bake|clearance|holiday|big|huge) sale|sale (?:this|on|at|today|now|ends)|grand opening|now open|open house|festival|concert|block party|fun run|5k|"
              r"farmers market|free (?:coffee|estimates?|quotes?|concert)|call (?:for|today)|book (?:now|your)|"
              r"sign up|join (?:us|our)|meet at|rsvp|dm me|for rent|insured|licensed|estimates?|quotes?|"
              r"\d+ ?(?:am|pm)|\d+%|\d+ ?- ?\d+ ?(?:am|pm)?|off your)\b"),
    ("memory", r"\b(?:dream(?:s|t|ed|ing)?|nightmare|remember when|reminisc\w*|back in the day|when i was (?:a kid|little|"
               r"young|a teen)|as a kid|grandp\w*|grandm\w*|short story|story time|nostalg\w*|novel)\b"),
    ("figurative", r"\b(?:my (?:life|love life|brain|inbox|bank account|patience|soul|heart|group chat|thesis|job|"
                   r"anxiety)|like an? |feel(?:s|ing)? like|(?:dumpster|trash|garbage) fire|train ?wreck|meme|"
                   r"emoji)"),
    # (issue 14, "actionable that means it") what the text says about place, time and request,
    # beyond the problem's noun: features only; ``weather`` also vetoes (below)
    ("locator", r"\b(?:outside (?:my|our|the|of)|in front of|next to|across the street|at the (?:corner|end|top|"
                r"bottom) of|on the corner|between \w+ (?:st|ave|and)|near (?:the|my|our|\d)|my (?:street|block|"
                r"driveway|building|house)|our (?:street|block|driveway|building|house)|\d+ [a-z]+ (?:st|ave|rd|"
                r"street|avenue|road)\b)"),
    ("now", r"\b(?:right now|again|still|keeps? \w+ing|every (?:day|night|morning|evening|week|time it)|"
            r"for (?:the )?(?:past|last) (?:\w+ )?(?:days?|weeks?|months?)|(?:days|weeks|months) now|since (?:the|last|"
            r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|this)|(?:two|three|four|several|#|\d+) "
            r"(?:days|weeks|nights) (?:now|in a row)|in a row|all (?:week|weekend|winter|month))\b"),
    ("past", r"\b(?:used to|years ago|back in (?:the|19|20|\d)|in (?:19|20)\d\d\b|last (?:year|winter|summer|spring|"
             r"fall)\b|when i (?:moved|was)|growing up|remember (?:the|when)|once upon)"),
    ("hypothetical", r"(?:^if |\bif (?:i|we|they|the city|boston|only) (?:ever|ran|had|could|were|was|did)|\bimagine\b|"
                     r"\bwhat if\b|\bwould you rather\b|\bsomeday\b|\bi wish\b|\bwish (?:we|our|the city|boston)\b|"
                     r"\bwould (?:be|look) (?:nice|great|cool|amazing)\b)"),
    ("weather", r"\b(?:forecast|inches (?:expected|forecast|tonight|tomorrow|overnight|by)|(?:to|or) (?:#|\d+) inches|"
                r"nor'?easter|(?:storm|flood|winter weather) (?:warning|watch|advisory)|winter storm|wind chill|"
                r"freezing rain|meteorolog\w*|heat wave|"
                r"weather (?:is|today|tomorrow|this)|stay (?:home|safe|warm)|drive (?:slow|safe|carefully))\b"),
    ("sports", r"\b(?:celtics|bruins|red sox|sox|patriots|pats|revolution|playoffs?|super bowl|world series|"
               r"goalie|pitcher|bullpen|quarterback|halftime|coach|this season|this team|refs?)\b"),
    ("opinion", r"\b(?:we need (?:to|more|a real|better|protected)|we should|(?:city|boston|they) should (?:stop|start|ban|"
                r"charge|hire|invest|spend|just|really)|should be (?:banned|illegal|free)|i think|in my opinion|imo|"
                r"it'?s time (?:to|for)|would fix|needs a (?:real )?plan|the problem is)\b"),
    ("personal", r"\bmy (?:car|tire|tires|bike|phone|apartment'?s? (?:heat|sink|shower|fridge)|kitchen|bathroom|"
                 r"dishwasher|roommate|garage|office|knee|back|pipes|windshield|screen|laptop|wifi|battery|"
                 r"commute|coffee|dog|cat|kid)\b"),
]
CUE_NAMES: tuple[str, ...] = tuple(n for n, _ in CUES)
#: Substrings one of which every match of a cue contains (checked before the regex; a test
#: checks that gating changes nothing on the shipped texts). Cues without a gate always run.
GATES: dict[str, tuple[str, ...]] = {
    "repost": ("rt", "repost", "via"),
    "fixed": ("fix", "repair", "resolv", "fill", "patch", "clear", "plow", "shovel", "clean", "pick", "remov",
              "replac", "repaint", "taken care", "tow", "thank", "job", "work", "shout", "props", "kudos", "no more",
              "gracias"),
    "other_city": ("cambridge", "somerville", "brookline", "quincy", "newton", "medford", "malden", "chelsea",
                   "everett", "revere", "worcester", "springfield", "lowell", "lynn", "waltham", "nyc", "new york",
                   "brooklyn", "queens", "bronx", "manhattan", "chicago", "philly", "philadelphia", "providence",
                   "hartford", "harvard sq", "central sq", "davis sq", "porter sq", "inman sq", "kendall sq"),
    "still": ("still", "again", "hasn", "haven", "wasn", "weren", "isn", "aren", "didn", "don", "doesn", "won",
              "can", "never", "not", "but", "back", "another", "came", "re", "was", "were", "no", "neither",
              "barely", "hardly", "poor", "bad", "terrible", "awful", "lousy", "should", "need", "plowed"),
    "boston": ("boston", "dorchester", "dot", "roxbury", "southie", "south", "jamaica", "jp", "mattapan",
               "roslindale", "west", "hyde", "charlestown", "east", "eastie", "allston", "brighton", "back", "north",
               "fenway", "beacon", "mission", "bos311", "cityofboston"),
    "news": ("breaking", "according", "study", "article", "read", "watch", "our", "press", "mayor", "city",
             "council", "governor", "state", "report", "op", "globe", "herald", "wbur", "wgbh", "nbc", "wcvb",
             "citywide", "nationwide", "per", "statistics", "residents", "officials", "police", "neighbors",
             "inspectors", "experts", "authorities", "injuries", "investigating", "expect", "tonight", "details",
             "survey"),
    "policy": ("why", "how", "what", "is", "who", "does", "budget", "long", "policy", "council"),
    "ask": ("please", "pls", "plz", "send", "por", "bos311"),
    "request": ("please", "pls", "plz", "can", "send", "need", "fix", "remove", "por", "bos311"),
    "place": ("st", "ave", "rd", "road", "blvd", "ln", "lane", "dr", "pl", "sq", "ct", "hwy", "pkwy", "ter",
              "alley", "corner", "intersection", "block", "front", "across", "calle", "esquina"),
    "time": ("day", "week", "month", "hour", "year", "since", "night", "now", "morning", "afternoon", "evening",
             "tonight", "today", "yesterday", "desde"),
    "question": ("does", "do", "is", "are", "when", "what", "where", "how", "which", "will", "anyone", "can",
                 "should"),
    "event": ("sale", "grand", "now", "open", "festival", "concert", "block", "fun", "5k", "farmers", "free",
              "call", "book", "sign", "join", "meet", "rsvp", "dm", "rent", "insured", "licensed", "estimate",
              "quote", "off", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
    "memory": ("dream", "nightmare", "remember", "reminisc", "day", "when", "kid", "grandp", "grandm", "short",
               "story", "nostalg", "novel"),
    "locator": ("outside", "front", "next", "across", "corner", "end", "top", "bottom", "between", "near", "my",
                "our", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
    "now": ("right", "again", "still", "keep", "every", "past", "last", "day", "week", "month", "night", "since",
            "row", "winter"),
    "past": ("used", "year", "back", "1", "2", "last", "when", "growing", "remember", "once"),
    "hypothetical": ("if", "imagine", "rather", "someday", "wish", "nice", "great", "cool", "amazing"),
    "weather": ("forecast", "inches", "nor", "storm", "flood", "winter", "wind", "freezing", "meteorolog",
                "heat", "weather", "stay", "drive"),
    "sports": ("celtics", "bruins", "red", "sox", "patriots", "pats", "revolution", "playoff", "super", "world",
               "goalie", "pitcher", "bullpen", "quarterback", "halftime", "coach", "season", "team", "ref"),
    "opinion": ("need", "should", "think", "opinion", "imo", "time", "would", "plan", "problem"),
    "personal": ("car", "tire", "bike", "phone", "apartment", "kitchen", "bathroom", "dishwasher", "roommate",
                 "garage", "office", "knee", "back", "pipes", "windshield", "screen", "laptop", "wifi", "battery",
                 "commute", "coffee", "dog", "cat", "kid"),
    "figurative": ("life", "love", "brain", "inbox", "bank", "patience", "soul", "heart", "group", "thesis", "job",
                   "anxiety", "like", "feel", "dumpster", "trash", "garbage", "train", "meme", "emoji"),
}
#: Cues whose matches need not start a word (emoji): a substring, one of which every match
#: contains, is checked in the raw text instead (``in`` is much cheaper than the regex).
SUBSTRING_GATES: dict[str, tuple[str, ...]] = {
    "joke": ("lol", "lmao", "rofl", "lmfao", "haha", "jk", "spirit animal", "zip code", "video game",
             "energy today", "naming the", "s family", "😂", "🤣", "😆"),
}
_COMPILED = [(n, re.compile(p)) for n, p in CUES]
_GATED_IX = [i for i, (n, _) in enumerate(CUES) if n in GATES]
_ALWAYS = {i for i, (n, _) in enumerate(CUES) if n not in GATES and n not in SUBSTRING_GATES}
_SUBSTRING = [(i, SUBSTRING_GATES[n]) for i, (n, _) in enumerate(CUES) if n in SUBSTRING_GATES]
_INDEX = None


def _index():
    global _INDEX
    if _INDEX is None:
        from civic_signal.classifiers.categories import GateIndex
        _INDEX = GateIndex([GATES.get(n, ()) for n, _ in CUES])
    return _INDEX


def find_cues(text_lower: str, gated: str | None = None) -> list[str]:
    """The cues that fire on ``text_lower`` (already lower-cased); ``gated`` is
    :func:`civic_signal.classifiers.categories.gate_text` of it, when the caller has it."""
    if gated is None:
        from civic_signal.classifiers.categories import gate_text
        gated = gate_text(text_lower)
    return cues_from(text_lower, _index().candidates(gated))


def cues_from(text_lower: str, candidates: set[int]) -> list[str]:
    """The cues among ``candidates`` (indexes into :data:`CUES`; ungated cues always run) that fire."""
    cand = candidates | _ALWAYS
    for i, subs in _SUBSTRING:
        if any(x in text_lower for x in subs):
            cand.add(i)
    return [_COMPILED[i][0] for i in sorted(cand) if _COMPILED[i][1].search(text_lower)]


_ALWAYS_MASK = sum(1 << i for i in _ALWAYS)
_SUBSTRING_BITS = [(1 << i, subs) for i, subs in _SUBSTRING]
_CUE_MEMBERS: dict[int, tuple] = {}


def cues_from_mask(text_lower: str, mask: int) -> tuple[str, ...]:
    """:func:`cues_from` with the candidates as a bit mask (bit ``i``: cue ``i``), as a tuple."""
    from civic_signal.classifiers.categories import members
    m = mask | _ALWAYS_MASK
    for bit, subs in _SUBSTRING_BITS:
        if not m & bit:
            for x in subs:
                if x in text_lower:
                    m |= bit
                    break
    return tuple([name for name, rx in members(m, _COMPILED, _CUE_MEMBERS) if rx.search(text_lower)])


def find_cues_slow(text_lower: str) -> list[str]:
    """:func:`find_cues` without the gates (for tests)."""
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
    if "joke" in c and "request" not in c:
        return "joke"
    if "policy" in c and "ask" not in c:
        return "policy question"
    if "event" in c and "still" not in c:
        return "ad or event"
    if "memory" in c and "still" not in c:
        return "story or memory"
    if "question" in c and "request" not in c:
        return "question"
    if "weather" in c and not c & {"request", "ask", "still", "now", "place", "locator"}:
        return "weather"
    return None
