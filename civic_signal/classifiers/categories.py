"""The service codes the classifier predicts, and one general keyword rule for each.

The rules serve twice, and nowhere do they memorise a phrase from the data:

- training: they weak-label the free-text "Other" records of the Open311 dump
  (:func:`weak_label`), first match in :data:`RULES` order wins;
- at run time: each match becomes a pseudo-feature ``rule=<CODE>`` of the linear model
  (:func:`rule_hits`), so a report phrased in a way the training data never showed still
  reaches its category.

Patterns are matched on lower-case text with plurals allowed. What callers may rely on: every
code in :data:`CODES` is in ``config/data/services.json``; :data:`GENERAL` is ``BOS311GEN``.
"""

from __future__ import annotations

import re

from civic_signal.config.taxonomy import GENERAL_CODE

GENERAL = GENERAL_CODE

#: (service code, pattern) in priority order: the more specific problem first.
RULES: list[tuple[str, str]] = [
    ("NEEDRMVL", r"needles?|syringes?|sharps (?:container|on)|hypodermic|jeringas?"),
    ("PUDEADANML", r"dead (?:animal|raccoon|squirrel|cat|dog|rat|skunk|possum|opossum|bird|deer|goose|geese|"
                   r"pigeon|rabbit|seagull|gull|fox|coyote|mouse|duck)s?|(?:animal|raccoon|squirrel|deer|cat|dog|"
                   r"skunk|bird)s? (?:carcass|corpse|is dead|lying dead)|roadkill|road kill|carcass|animal muerto"),
    ("RODENTACT", r"\brats?\b|rodents?|\bmice\b|rat (?:hole|burrow)s?|ratas?|ratones"),
    ("GENGRAFFITI", r"graffiti|grafitti|grafiti|spray[ -]?paint(?:ed)?|vandali[sz]ed with paint"),
    ("ABNDBIKE", r"abandoned (?:bike|bicycle)s?|(?:bike|bicycle)s? (?:abandoned|left locked|locked .{0,30}"
                 r"(?:months|weeks|years|forever)|missing (?:a |its |both )?(?:wheel|seat|tire))|"
                 r"(?:bike|bicycle) (?:frame|carcass|skeleton)"),
    ("ABNDVHCL", r"abandoned (?:car|vehicle|truck|van|suv|boat|trailer|camper)s?|"
                 r"(?:car|vehicle|truck|van|suv)s? (?:has |have )?(?:not|n'?t|never) (?:been )?moved|"
                 r"(?:car|vehicle|truck|van) (?:with )?(?:no|expired) (?:plates?|registration|inspection)|"
                 r"(?:car|vehicle) (?:sitting|parked) (?:there )?for (?:weeks|months)|"
                 r"carro abandonado|coche abandonado|veh[ií]culo abandonado"),
    ("SPCSVR", r"space ?savers?|(?:cones?|chairs?|barrels?) (?:saving|to save|holding) (?:a |the |my |their )?"
               r"(?:parking )?(?:spot|space)"),
    ("UNSHVSDWLK", r"(?:not|never|un|hasn'?t been|haven'?t been|wasn'?t|isn'?t)[ -]?shovell?ed|"
                   r"(?:sidewalk|walkway|curb cut|ramp)s? (?:is |are )?(?:still )?(?:covered|full|caked|blocked) "
                   r"(?:in|with|by) (?:snow|ice)|(?:icy|snowy|snow[- ]covered|ice[- ]covered) sidewalks?|"
                   r"(?:didn'?t|did not|never|won'?t) shovel|shovel (?:the|their|his|her) sidewalk|"
                   r"sidewalk (?:sin palear|con nieve)|no han paleado"),
    ("SNOWPLOW", r"(?:not|never|un|hasn'?t been|wasn'?t|isn'?t|needs? (?:to be )?)[ -]?plow(?:ed)?|"
                 r"plow(?:s|ed)? (?:missed|skipped|never came|hasn'?t come)|(?:needs|need) (?:a )?plow|"
                 r"(?:street|road|side street)s? (?:is |are )?(?:still )?(?:covered in|full of|buried in) snow|"
                 r"no (?:han|ha) pasado (?:el |la )?(?:quitanieves|barredora)|calle (?:llena de|cubierta de) nieve"),
    ("TFCSGNINSP", r"(?:traffic|walk|pedestrian) (?:light|signal)s? [^.!?]{0,50}(?:stuck on|not working|"
                   r"malfunctioning|out of sync|(?:is|are) (?:out|broken|dark|flashing|blinking))|"
                   r"(?:traffic|stop|walk|pedestrian|crossing) (?:light|signal)s? (?:is |are )?(?:\w+ )?(?:out|off|"
                   r"broken|stuck|dark|not working|malfunction\w*|flashing|blinking|out of sync|down)|"
                   r"(?:broken|malfunctioning|dark|stuck) (?:traffic|walk|pedestrian) (?:light|signal)s?|"
                   r"(?:walk|crosswalk|ped) (?:button|signal)s? (?:is |are )?(?:\w+ )?(?:broken|not working)|"
                   r"sem[aá]foro"),
    ("STRLGTKDWN", r"(?:light ?pole|lamp ?post|street ?light ?pole|light post)s? (?:is |was )?(?:\w+ )?"
                   r"(?:down|knocked|hit|leaning|fallen|damaged|bent)|(?:knocked|fallen|hit) (?:down )?"
                   r"(?:light ?pole|lamp ?post|street ?light)s?"),
    ("LGHTELEC", r"(?:park|playground|field|court) lights? (?:is |are )?(?:\w+ )?(?:out|off|broken|not working|on all)"),
    ("STRLGTOUT", r"(?:street|lamp|light)[ -]?(?:lights?|posts?|poles?|lamps?)s? (?:is |are )?(?:\w+ )?(?:out|off|"
                  r"dark|broken|flicker\w*|not working|blinking|cycling|burnt|burned|dim|on during the day|on all day)|"
                  r"(?:broken|dark|burnt out|burned out|flickering|dead) street ?lights?|"
                  r"(?:street|road|block|alley|sidewalk) (?:is |are )?(?:completely |very |too )?dark|"
                  r"no (?:street ?)?lights? (?:on|at|in)|light(?:s)? (?:has |have )?been out|farolas?|alumbrado|"
                  r"luz de la calle|luces de la calle"),
    ("PVMTMRKINS", r"(?:crosswalk|cross walk|lane|line|road|stop line|bike lane|pavement) (?:markings?|lines?|"
                   r"paint(?:ing)?) (?:is |are )?(?:\w+ )?(?:faded|gone|worn|missing|invisible|need)|"
                   r"(?:faded|worn|missing) (?:crosswalk|cross walk|lane|line|road|pavement)s?(?: markings?| lines?)?|"
                   r"repaint (?:the )?(?:crosswalk|lines|lanes?|markings)|paint(?:ed)? (?:a )?crosswalk"),
    ("MISDMGSGN", r"(?:stop|street|one[ -]?way|yield|no parking|parking|speed limit|do not enter|traffic|road|"
                  r"school zone|crossing|name)? ?signs? (?:is |are |was |has been )?(?:\w+ )?(?:down|missing|"
                  r"knocked|broken|bent|gone|stolen|damaged|turned|twisted|fell|fallen|faded|unreadable|"
                  r"covered|obscured|blocked)|(?:missing|broken|damaged|bent|fallen|knocked down) "
                  r"(?:stop |street |traffic |one way |yield |road |parking )?signs?|se[nñ]al (?:rota|ca[ií]da)"),
    ("TREEEMGNCY", r"(?:tree|limb|branch|branches|trunk)s? (?:has |have )?(?:is |are |was )?(?:\w+ )?(?:down|fell|"
                   r"fallen|blocking|came down|snapped|split|hanging|uprooted|on (?:the )?(?:car|wires?|road|"
                   r"street|sidewalk))|(?:fallen|downed|broken|hanging) (?:tree|limb|branch)(?:es|s)?|"
                   r"[aá]rbol ca[ií]do"),
    ("TREEINPRK", r"tree (?:in|at) (?:the )?park .{0,30}(?:trim|prun|dead|dying)"),
    ("NWTRREQ", r"(?:plant|new|replace (?:the )?(?:dead )?) (?:a )?trees?|trees? planting|empty tree (?:pit|well)s?"),
    ("TREEMAINT", r"tree (?:needs|trimming|pruning|trim)|(?:trim|prune|cut back) (?:the |this |a )?trees?|"
                  r"overgrown trees?|(?:dead|dying|diseased|rotting) trees?|trees? (?:is |are )?(?:dead|dying|"
                  r"overgrown|touching|rubbing)|branches (?:over|hanging|touching)|low(?:-| )hanging branch"),
    ("OVRGRWNVEG", r"overgrown (?:weeds|bushes|grass|hedges?|vegetation|shrubs?|lot|yard)|"
                   r"(?:bushes|hedges?|shrubs|vegetation|grass) (?:is |are )?(?:overgrown|blocking|too tall|"
                   r"not (?:cut|mowed|trimmed))|weeds (?:growing|everywhere|taking over|blocking)"),
    ("CATCHBASE", r"storm ?drains?|catch ?basins?|(?:street |sewer )?drains? (?:is |are )?(?:\w+ )?(?:clogged|blocked|"
                  r"backed up|broken|overflowing|full)|(?:clogged|blocked) (?:storm |street )?drains?|"
                  r"(?:street|road|intersection|corner) (?:is )?(?:flooded|flooding)|flooding (?:on|at|in) the "
                  r"(?:street|road|corner|intersection)|(?:huge |big |large )?puddles? (?:won'?t|doesn'?t|not) drain"),
    ("FIREHYDR", r"(?:fire )?hydrants? (?:is |are )?(?:\w+ )?(?:open|leaking|broken|damaged|knocked|spewing|"
                 r"running|gushing|missing)|(?:open|leaking|broken|knocked over) (?:fire )?hydrants?"),
    ("MANHOLE", r"manhole(?: cover)?s? (?:is |are )?(?:\w+ )?(?:loose|missing|open|broken|noisy|rattling|sunken|"
                r"popped|off|raised|clanking|loud)|(?:loose|missing|open|broken|rattling) (?:manhole|sewer|"
                r"utility|water) (?:cover|lid|grate)s?|missing (?:manhole|sewer) (?:cover|grate)"),
    ("REQPOTHL", r"pot ?holes?|pothols?|sink ?holes?|bache|baches|hoyo en la calle|hueco"),
    ("RDWYRPR", r"(?:road|street|roadway|pavement|asphalt)s? (?:is |are )?(?:\w+ )?(?:crumbling|cracked|broken|"
                r"buckled|sinking|caving|uneven|in (?:terrible|awful|bad|horrible) (?:shape|condition))|"
                r"(?:cracked|crumbling|broken|buckled|uneven) (?:road|street|roadway|pavement|asphalt)s?"),
    ("SDWRPR", r"(?:sidewalk|side walk|curb|brick|walkway|ramp)s? (?:is |are )?(?:\w+ )?(?:broken|cracked|heaved|"
               r"uneven|crumbling|buckled|raised|sinking|caving|lifted|missing|loose|in (?:terrible|bad) shape|"
               r"needs? repair)|(?:broken|cracked|heaved|uneven|crumbling|buckled|loose|raised) (?:sidewalk|side "
               r"walk|curb|brick|walkway)s?|trip(?:ping)? hazard|acera rota"),
    ("EMPLITBSKT", r"(?:overflowing|full|overfilled) (?:public |city )?(?:trash|litter|garbage|rubbish)? ?"
                   r"(?:can|barrel|bin|basket|receptacle)s?|(?:trash|litter|garbage|public) (?:can|barrel|bin|"
                   r"basket|receptacle)s? (?:is |are )?(?:\w+ )?(?:overflowing|full|overfilled|spilling|needs? "
                   r"(?:to be )?empt)|bigbelly|big belly|zafac[oó]n lleno"),
    ("LITBSKMAIN", r"(?:trash|litter|garbage) (?:can|barrel|bin|basket)s? (?:is |are )?(?:\w+ )?(?:broken|damaged|"
                   r"knocked over|missing|tipped)|(?:broken|damaged) (?:trash|litter|garbage) (?:can|barrel|bin)s?"),
    ("UNSANTRSH", r"dumpsters? (?:is |are )?(?:\w+ )?(?:overflowing|full|open|broken|spilling|smell)|"
                  r"(?:overflowing|open|broken|full) dumpsters?"),
    ("MTRECYDBI", r"(?:trash|recycling|garbage|rubbish|recyclables|yard waste|compost|bins?|barrels?|bags?)"
                  r" (?:was |were |has |have |hasn'?t |haven'?t |wasn'?t |weren'?t |not |never |still )*"
                  r"(?:been )?(?:not |never )?(?:picked up|collected|taken|emptied)|missed "
                  r"(?:trash|recycling|garbage|pick ?up|collection)|(?:trash|recycling|garbage) (?:truck|"
                  r"pickup|pick-up|collection) (?:missed|skipped|never came|didn'?t come)|"
                  r"no (?:recogieron|han recogido) (?:la )?basura"),
    ("SCHDBLKITM", r"bulk (?:item|trash|pick ?up)|(?:schedule|request) (?:a )?(?:pick ?up|pickup) (?:for|of) "
                   r"(?:a )?(?:couch|mattress|furniture|appliance|fridge)"),
    ("IMPSTRTRSH", r"trash (?:put |left )?out (?:too )?(?:early|on the wrong day|days early)|"
                   r"(?:trash|garbage) (?:bags )?(?:out|left) (?:on|in front of) .{0,20}(?:wrong day|not trash day)|"
                   r"(?:trash|garbage) (?:bags )?not in (?:a )?(?:barrels?|containers?|bins?)|"
                   r"(?:open|torn|ripped) (?:trash|garbage) bags"),
    ("TRSHVACLOT", r"vacant lot|empty lot .{0,30}(?:trash|garbage|junk)"),
    ("ILGLDUMP", r"dump(?:ed|ing)|(?:mattress|couch|sofa|tv|television|furniture|tires?|appliances?|"
                 r"refrigerator|fridge|debris|construction debris|junk)(?:es|s)? (?:left|dumped|abandoned|"
                 r"thrown|discarded|sitting|on the (?:sidewalk|street|curb))|tiraron basura|basura tirada"),
    ("STRCLEAN", r"(?:street|sidewalk|road|gutter|alley|block)s? (?:is |are )?(?:\w+ )?(?:dirty|filthy|full of "
                 r"(?:trash|litter|glass|leaves)|needs? (?:to be )?(?:swept|sweeping|cleaning|cleaned))|"
                 r"(?:broken glass|litter|trash|garbage|leaves|debris) (?:all )?(?:over|on|in|along|covering) "
                 r"(?:the )?(?:street|sidewalk|road|gutter|alley)|street (?:sweeping|cleaning) (?:needed|missed)|"
                 r"street sweeper|sweep (?:the )?street|litter|calle sucia"),
    ("WHLNCOMP", r"construction (?:noise|site is (?:too )?loud|work (?:before|after|at|on (?:a )?"
                 r"(?:sunday|saturday|weekend))|starting (?:before|at)|crews? (?:started|working) (?:at|before))|"
                 r"jack ?hammer(?:ing)?|(?:noise|noisy|loud) (?:from )?(?:the )?construction|"
                 r"construction (?:at|before) \d|construction .{0,30}(?:too early|too late|before 7|am on a)"),
    ("PCONCMPLNT", r"(?:road|street|sidewalk|utility|gas|water|contractor|construction) (?:work|crew|company|"
                   r"contractor)s? (?:left|blocking|dug|didn'?t|never)|(?:steel|road|metal) plates? (?:is |are )?"
                   r"(?:\w+ )?(?:loose|noisy|rattling|not secured|shifted)|trench|(?:bad|sunken|messy) patch"),
    ("EQUIPREPR", r"(?:broken|damaged|unsafe) (?:swings?|slides?|playground|park equipment|bench|benches|"
                  r"water fountain|fountain|see-?saw)|(?:swing|slide|playground equipment|bench|fountain)s? "
                  r"(?:is |are )?(?:\w+ )?(?:broken|damaged|missing)"),
    ("PRKGMETRPR", r"(?:parking )?meters? (?:is |are )?(?:\w+ )?(?:broken|not working|jammed|eating|out of order|"
                   r"won'?t take)|(?:broken|jammed) (?:parking )?meters?|parqu[ií]metro"),
    ("ILGLPSTSGN", r"(?:illegal|illegally posted) (?:signs?|posters?|flyers?|handbills?)|(?:posters?|flyers?|"
                   r"stickers?|handbills?) (?:posted |stuck |stapled )?(?:on|all over) (?:the )?(?:pole|poles|"
                   r"light|lamp|utility|mailbox|signs?)"),
    ("PRKGENFORC", r"(?:double|illegally|illegal) park(?:ed|ing)|parked (?:illegally|in|on|across|at|next to|"
                   r"too close|blocking|without)(?: \w+){0,3} (?:bike lane|crosswalk|cross walk|sidewalk|"
                   r"hydrant|driveway|handicap|fire lane|bus (?:stop|lane)|loading zone|corner|no parking|"
                   r"resident|permit|sticker|spot)|block(?:ing|ed|s)? (?:the |my |a |our )?(?:hydrant|"
                   r"driveway|crosswalk|bike lane|bus stop|fire lane|garage|sidewalk ramp)|"
                   r"(?:no|without a?) (?:resident|rpp) (?:sticker|permit)|non[- ]?resident|out of state "
                   r"(?:car|plates?|vehicle)s?|(?:car|truck|van|vehicle)s? (?:parked )?(?:in|on) (?:the )?"
                   r"(?:bike lane|crosswalk|sidewalk|bus stop)|estacionad[oa] (?:en|ilegalmente)|"
                   r"mal estacionad[oa]"),
    ("BIRDINFEST", r"pigeon (?:droppings|infestation|poop)|(?:bird|pigeon)s? (?:infestation|nesting in)"),
    ("UCCAMPS", r"encampment|homeless camp|tents? (?:set up|on the sidewalk|under the bridge)"),
    ("HEAT", r"(?:no|without) heat (?:in|at)|heat (?:is )?(?:not working|off|broken) in (?:my|our|the) "
             r"(?:apartment|unit|building)|landlord .{0,20}(?:no heat|heat)"),
    ("ANMLGEN", r"(?:stray|loose|injured|aggressive) (?:dog|cat|animal)s?|dogs? off (?:the )?leash|off[- ]leash"),
]

#: Codes the model predicts (rule codes in order, then the general code).
CODES: tuple[str, ...] = tuple(dict.fromkeys([c for c, _ in RULES] + ["PRKGENFORC", "UNSHVSDWLK", "ABNDVHCL",
                                                                          GENERAL]))

_COMPILED: list[tuple[str, re.Pattern[str]]] = [(c, re.compile(rf"(?<![\w-])(?:{p})(?!\w)")) for c, p in RULES]


def rule_hits(text_lower: str) -> list[str]:
    """Every code whose rule matches ``text_lower`` (already lower-cased), in priority order."""
    return [code for code, rx in _COMPILED if rx.search(text_lower)]


def weak_label(text_lower: str) -> str | None:
    """The first rule that matches, or ``None``."""
    for code, rx in _COMPILED:
        if rx.search(text_lower):
            return code
    return None


#: Word starts at least one of which every match of a rule contains: a rule's regular
#: expression runs only when its gate passes (the regexes are the costly part; gating saves
#: most of it). Each gate entry is matched at a word start (see :func:`gate_text`). A test
#: checks that gating changes no label on the shipped texts.
GATES: dict[str, tuple[str, ...]] = {
    "NEEDRMVL": ("needle", "syringe", "sharps", "hypodermic", "jeringa"),
    "PUDEADANML": ("dead", "carcass", "corpse", "roadkill", "road kill", "muerto"),
    "RODENTACT": ("rat", "rodent", "mice"),
    "GENGRAFFITI": ("graf", "spray", "vandali"),
    "ABNDBIKE": ("bike", "bicycle"),
    "ABNDVHCL": ("abandon", "car", "vehicle", "truck", "van", "suv", "veh", "coche"),
    "SPCSVR": ("space", "saver", "cone", "chair", "barrel"),
    "UNSHVSDWLK": ("shovel", "unshovel", "snow", "ice", "icy", "palea", "nieve", "sidewalk"),
    "SNOWPLOW": ("plow", "unplow", "snow", "quitanieves", "barredora", "nieve", "calle"),
    "TFCSGNINSP": ("light", "signal", "button", "sem"),
    "STRLGTKDWN": ("pole", "post", "lamp", "light", "streetlight", "street light"),
    "LGHTELEC": ("light",),
    "STRLGTOUT": ("light", "lamp", "streetlight", "street light", "dark", "farola", "alumbrado", "luz", "luces"),
    "PVMTMRKINS": ("mark", "line", "paint", "faded", "worn", "missing", "repaint"),
    "MISDMGSGN": ("sign", "señal", "senal"),
    "TREEEMGNCY": ("tree", "limb", "branch", "trunk", "árbol", "arbol"),
    "TREEINPRK": ("tree",),
    "NWTRREQ": ("tree",),
    "TREEMAINT": ("tree", "branch"),
    "OVRGRWNVEG": ("overgrown", "weed", "bush", "hedge", "shrub", "vegetation", "grass"),
    "CATCHBASE": ("storm", "catch", "drain", "flood", "puddle"),
    "FIREHYDR": ("hydrant",),
    "MANHOLE": ("manhole", "cover", "lid", "grate"),
    "REQPOTHL": ("pot", "sink", "bache", "hoyo", "hueco"),
    "RDWYRPR": ("road", "street", "pavement", "asphalt"),
    "SDWRPR": ("sidewalk", "side walk", "curb", "brick", "walkway", "ramp", "trip", "acera"),
    "EMPLITBSKT": ("overflow", "full", "overfill", "trash", "litter", "garbage", "public", "big", "zafac"),
    "LITBSKMAIN": ("trash", "litter", "garbage"),
    "UNSANTRSH": ("dumpster",),
    "MTRECYDBI": ("trash", "recycl", "garbage", "rubbish", "yard", "compost", "bin", "barrel", "bag", "missed",
                  "recog"),
    "SCHDBLKITM": ("bulk", "schedule", "request"),
    "IMPSTRTRSH": ("trash", "garbage"),
    "TRSHVACLOT": ("vacant", "empty lot"),
    "ILGLDUMP": ("dump", "mattress", "couch", "sofa", "tv", "television", "furniture", "tire", "appliance",
                 "refrigerator", "fridge", "debris", "junk", "tiraron", "basura"),
    "STRCLEAN": ("dirty", "filthy", "full of", "need", "glass", "litter", "trash", "garbage", "leaves", "debris",
                 "sweep", "street clean", "street sweep", "calle"),
    "WHLNCOMP": ("construct", "jack"),
    "PCONCMPLNT": ("work", "crew", "company", "contractor", "plate", "trench", "patch"),
    "EQUIPREPR": ("swing", "slide", "playground", "park equipment", "bench", "fountain", "seesaw", "see saw"),
    "PRKGMETRPR": ("meter", "parqu"),
    "ILGLPSTSGN": ("illegal", "poster", "flyer", "handbill", "sticker"),
    "PRKGENFORC": ("double", "illegal", "parked", "block", "resident", "rpp", "non", "out of state", "car", "truck",
                   "van", "vehicle", "estacionad", "mal estacionad"),
    "BIRDINFEST": ("pigeon", "bird"),
    "UCCAMPS": ("encampment", "homeless", "tent"),
    "HEAT": ("heat",),
    "ANMLGEN": ("dog", "cat", "animal", "off leash"),
}
_NONWORD = re.compile(r"[^0-9a-záéíóúñü]+")
_WORD_RUN = re.compile(r"[0-9a-záéíóúñü]+")


class GateIndex:
    """Which of several gated items can match a text, from its words' starts, in one pass.

    ``gates`` are tuples of word starts; an entry of several words is indexed by its first word
    (a superset, so never a missed match). The answer for each distinct word is cached."""

    def __init__(self, gates: list[tuple[str, ...]]) -> None:
        self.entries: list[tuple[str, int]] = [(e.split()[0], i) for i, g in enumerate(gates) for e in g]
        self._cache: dict[str, frozenset[int]] = {}
        self._masks: dict[str, int] = {}

    def _word(self, w: str) -> frozenset[int]:
        hit = frozenset(i for prefix, i in self.entries if w.startswith(prefix))
        if len(self._cache) < 500_000:
            self._cache[w] = hit
        return hit

    def mask(self, words: list[str]) -> int:
        """:meth:`candidates` as a bit mask (bit ``i`` for item ``i``), from the words of the text
        (:func:`gate_words`): one dict look-up and one integer ``or`` a word."""
        m = 0
        get = self._masks.get
        for w in words:
            b = get(w)
            if b is None:
                b = 0
                for i in self._word(w):
                    b |= 1 << i
                if len(self._masks) < 500_000:
                    self._masks[w] = b
            m |= b
        return m

    def candidates(self, gated: str) -> set[int]:
        found: set[int] = set()
        get = self._cache.get
        for w in gated.split():
            hit = get(w)
            if hit is None:
                hit = self._word(w)
            if hit:
                found |= hit
        return found


_GATED = [(code, rx) for code, rx in _COMPILED]
_INDEX = GateIndex([GATES[code] for code, _ in _COMPILED])


_MEMBERS: dict[int, tuple] = {}


def members(mask: int, table: list, cache: dict[int, tuple] = _MEMBERS) -> tuple:
    """The entries of ``table`` whose bit is set in ``mask``, in table order (cached per mask;
    pass a cache of one's own for each table)."""
    got = cache.get(mask)
    if got is None:
        got = tuple(table[i] for i in range(min(mask.bit_length(), len(table))) if mask >> i & 1)
        if len(cache) < 100_000:
            cache[mask] = got
    return got


def rule_hits_mask(text_lower: str, mask: int) -> tuple[str, ...]:
    """:func:`rule_hits_from` with the candidates as a bit mask (bit ``i``: rule ``i``)."""
    return tuple([code for code, rx in members(mask, _GATED) if rx.search(text_lower)])


def gate_words(text_lower: str) -> list[str]:
    """The words of :func:`gate_text` (``gate_text(t).split()``), in one pass."""
    return _WORD_RUN.findall(text_lower)


def rule_hits_from(text_lower: str, candidates: set[int]) -> list[str]:
    """The rules among ``candidates`` (indexes into :data:`RULES`) that match."""
    gated = _GATED
    return [gated[i][0] for i in sorted(candidates) if i < len(gated) and gated[i][1].search(text_lower)]


def gate_text(text_lower: str) -> str:
    """``text_lower`` with every run of non-word characters made one space, and a leading space:
    ``" car" in gate_text(t)`` tells whether a word of ``t`` starts with "car"."""
    return " " + _NONWORD.sub(" ", text_lower)


def rule_hits_fast(text_lower: str, gated: str | None = None) -> list[str]:
    """Same result as :func:`rule_hits`, running only the rules whose gate passes."""
    g = gated if gated is not None else gate_text(text_lower)
    cand = _INDEX.candidates(g)
    return [code for i, (code, rx) in enumerate(_GATED) if i in cand and rx.search(text_lower)]
