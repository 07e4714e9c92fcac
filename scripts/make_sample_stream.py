"""Write the sample stream: invented Boston posts in the X API v2 filtered-stream wire format.

    .venv/bin/python scripts/make_sample_stream.py   # -> samples/boston_stream.jsonl (+ .labels.jsonl)

Every post is written for this project from templates (no real person's posts); authors are
made-up handles. The ``.labels.jsonl`` beside it records what each post was written to be
(actionable or not, the intended service code), for demos and smoke tests; it is never used
to train the classifier. Seeded: the output is the same on every run.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "samples" / "boston_stream.jsonl"
SEED = 311

# (how a resident writes it, neighbourhood, lat, lon)
PLACES = [
    ("Mass Ave and Boylston", "Back Bay", 42.3471, -71.0874),
    ("the corner of Tremont and Stuart", "Downtown", 42.3509, -71.0648),
    ("Centre St at South St", "Jamaica Plain", 42.3097, -71.1152),
    ("Comm Ave & Harvard Ave", "Allston", 42.3505, -71.1310),
    ("Dot Ave near Andrew Sq", "South Boston", 42.3302, -71.0570),
    ("Blue Hill Ave by Franklin Park", "Roxbury", 42.3080, -71.0860),
    ("Uphams Corner", "Dorchester", 42.3165, -71.0658),
    ("Nubian Square", "Roxbury", 42.3292, -71.0838),
    ("Roslindale Square", "Roslindale", 42.2869, -71.1297),
    ("Savin Hill Ave", "Dorchester", 42.3106, -71.0533),
    ("L St in Southie", "South Boston", 42.3330, -71.0350),
    ("Bennington St in Eastie", "East Boston", 42.3790, -71.0300),
    ("Charles St", "Beacon Hill", 42.3585, -71.0705),
    ("Hanover St in the North End", "North End", 42.3636, -71.0544),
    ("Adams St near Adams Corner", "Dorchester", 42.2890, -71.0580),
    ("Cummins Hwy in Mattapan", "Mattapan", 42.2760, -71.1000),
    ("Brighton Ave", "Allston", 42.3530, -71.1320),
    ("Bunker Hill St in Charlestown", "Charlestown", 42.3780, -71.0630),
    ("Columbus Ave at Mass Ave", "South End", 42.3415, -71.0818),
    ("Gallivan Blvd", "Dorchester", 42.2800, -71.0600),
    ("Centre St in West Roxbury", "West Roxbury", 42.2840, -71.1530),
    ("Hyde Park Ave near Cleary Sq", "Hyde Park", 42.2560, -71.1240),
    ("45 Dorchester Ave", "South Boston", 42.3440, -71.0570),
    ("120 Washington St in Brighton", "Brighton", 42.3480, -71.1530),
    ("Boston Common near the Frog Pond", "Downtown", 42.3560, -71.0655),
    ("Jamaica Pond", "Jamaica Plain", 42.3160, -71.1206),
    ("Broadway Station", "South Boston", 42.3426, -71.0570),
    ("Hyde Square in JP", "Jamaica Plain", 42.3225, -71.1100),
    ("Meridian St at Maverick Sq", "East Boston", 42.3691, -71.0395),
    ("Warren St in Roxbury", "Roxbury", 42.3200, -71.0810),
]

REPORTS: dict[str, list[str]] = {
    "REQPOTHL": ["Huge pothole on {p}, almost lost a tire this morning",
                 "Massive pothole at {p} is swallowing cars. @BOS311 please fix",
                 "There's a pothole the size of a bathtub on {p}",
                 "Another car just blew a tire in the pothole on {p}. Please patch it!"],
    "STRLGTOUT": ["Street light out on {p} for a week now, really dark at night",
                  "The streetlight at {p} has been out since Tuesday @BOS311",
                  "Streetlights are out on {p}, whole block is pitch black"],
    "GENGRAFFITI": ["Fresh graffiti all over the wall at {p}",
                    "Someone tagged the mailbox and the bus shelter at {p} with spray paint",
                    "Graffiti on the storefronts along {p} again"],
    "MTRECYDBI": ["Trash wasn't picked up on {p} today, bags everywhere",
                  "Recycling was not collected on {p} this week @BOS311",
                  "Missed trash pickup on {p} for the second week in a row"],
    "EMPLITBSKT": ["The trash can at {p} is overflowing onto the sidewalk",
                   "Overflowing trash barrel at {p}, garbage blowing into the street"],
    "ILGLDUMP": ["Someone dumped a mattress and a couch on the sidewalk at {p}",
                 "Illegal dumping at {p}: tires and construction debris left overnight"],
    "SNOWPLOW": ["{p} still hasn't been plowed, cars are stuck",
                 "Nobody plowed {p}, it's a sheet of ice @BOS311"],
    "UNSHVSDWLK": ["Sidewalk on {p} not shoveled, had to walk in the street with a stroller",
                   "Unshoveled sidewalk in front of the stores at {p}, total ice rink"],
    "PRKGENFORC": ["Car double parked on {p} blocking the bike lane again",
                   "Truck parked in the crosswalk at {p} for an hour",
                   "Someone is parked blocking the hydrant on {p}"],
    "ABNDVHCL": ["Abandoned car with flat tires sitting on {p} for a month",
                 "This abandoned van on {p} hasn't moved in weeks, plates expired"],
    "ABNDBIKE": ["Abandoned bike chained to the rack at {p}, missing both wheels for months"],
    "TREEEMGNCY": ["Tree down across {p} after the storm, road blocked",
                   "Big fallen limb blocking the sidewalk at {p}"],
    "SDWRPR": ["Sidewalk on {p} is all cracked and heaved, real tripping hazard",
               "Broken sidewalk at {p}, my neighbor tripped on it yesterday"],
    "MISDMGSGN": ["Stop sign knocked down at {p}, cars blowing through",
                  "The street sign at {p} is missing, drivers keep getting lost"],
    "TFCSGNINSP": ["Traffic light at {p} is stuck on red for everyone",
                   "Traffic signal at {p} is out, intersection is chaos"],
    "CATCHBASE": ["Storm drain at {p} is clogged, the street is flooding",
                  "Catch basin on {p} is blocked with leaves, huge puddle across the road"],
    "RODENTACT": ["Rats running all over {p} every night near the dumpsters",
                  "Seeing lots of rats around {p}, need rodent control"],
    "PUDEADANML": ["Dead raccoon in the road on {p}", "There's a dead skunk on the sidewalk at {p}"],
    "NEEDRMVL": ["Needles on the ground at {p} near the playground, please send someone",
                 "Found used syringes at {p}, kids walk by here"],
    "WHLNCOMP": ["Construction site at {p} running jackhammers at 5am again",
                 "Loud construction noise on {p} before 7am every day"],
    "PVMTMRKINS": ["The crosswalk at {p} is completely faded, cars don't stop"],
}

SPANISH = [
    ("REQPOTHL", "Hay un bache enorme en {p}, por favor arreglenlo"),
    ("MTRECYDBI", "No recogieron la basura en {p} esta semana"),
    ("STRLGTOUT", "La luz de la calle en {p} está apagada desde hace días"),
]

NOT_ACTIONABLE = [
    "Great dinner in the North End tonight, the cannoli were perfect",
    "Beautiful sunset over the Charles from the Esplanade",
    "City council votes tonight on the street repair budget, watch the hearing",
    "According to a new report Boston fixed 20,000 potholes last year",
    "The potholes on Mass Ave have their own zip code at this point lol",
    "Thanks @BOS311, the pothole on Elm St was fixed in two days!",
    "Shoutout to the crew that fixed the street light on Dot Ave, thank you",
    "Huge pothole on Broadway in Somerville, someone call their city",
    "Graffiti everywhere in Cambridge near Central Square, not our problem I guess",
    "Why does the city take so long to approve new bike lanes? Genuine question about policy",
    "Red Sox lost again, my heart can't take this",
    "Anyone know a good coffee place near Copley?",
    "Snow in the forecast this weekend, stock up on bread and milk",
    "Trash day got moved because of the holiday, check the city schedule",
    "NYC subway rats are bigger than Boston rats, fight me",
    "The marathon route looks amazing this year",
    "Street lights in Chicago are way brighter than ours",
    "What's the best way to report a pothole? Asking for a friend",
    "Loving the new murals in Jamaica Plain, real art not graffiti",
    "Traffic on the Pike is a nightmare as usual",
    "Just moved to Southie, any tips?",
    "Throwback to last winter when we had 100 inches of snow",
    "Boston Public Library has a great exhibit on maps right now",
    "Philly's potholes make ours look tiny",
    "I love this city even with the construction everywhere",
]

FIRST = ["dot", "jp", "southie", "eastie", "rozzie", "hp", "beacon", "allston", "rox", "charlestown"]
SECOND = ["walker", "neighbor", "mom", "runner", "cyclist", "commuter", "local", "resident", "dad", "teacher"]


def handle(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)}_{rng.choice(SECOND)}{rng.randint(1, 999)}"


def tweet(rng: random.Random, n: int, when: datetime, text: str, *, geo: tuple[float, float] | None,
          retweet_of: str | None = None, media: bool = False) -> dict:
    tid = str(1860000000000000000 + n * 7919)
    uid = str(900000 + rng.randint(1, 99999))
    user = handle(rng)
    data: dict = {"id": tid, "text": text, "author_id": uid, "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                  "lang": "es" if any(w in text for w in ("Hay ", "No recogieron", "La luz")) else "en",
                  "edit_history_tweet_ids": [tid]}
    includes: dict = {"users": [{"id": uid, "name": user.replace("_", " ").title(), "username": user}]}
    if geo:
        data["geo"] = {"coordinates": {"type": "Point", "coordinates": [round(geo[1], 6), round(geo[0], 6)]}}
    if retweet_of:
        data["referenced_tweets"] = [{"type": "retweeted", "id": retweet_of}]
    if media:
        key = f"3_{tid}"
        data["attachments"] = {"media_keys": [key]}
        includes["media"] = [{"media_key": key, "type": "photo", "url": f"https://pbs.example.org/media/{key}.jpg"}]
    rules = [{"id": "1700000000000000001", "tag": "boston-keywords"}]
    if "@BOS311" in text:
        rules.append({"id": "1700000000000000002", "tag": "mentions-311"})
    if geo:
        rules.append({"id": "1700000000000000003", "tag": "boston-geo"})
    return {"data": data, "includes": includes, "matching_rules": rules}


def main() -> None:
    rng = random.Random(SEED)
    start = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    when = start
    lines: list[dict] = []
    labels: list[dict] = []
    reports = [(code, t) for code, ts in REPORTS.items() for t in ts]
    plan: list[tuple[str, object]] = []
    for _ in range(230):
        plan.append(("report", rng.choice(reports)))
    for _ in range(12):
        plan.append(("spanish", rng.choice(SPANISH)))
    for _ in range(90):
        plan.append(("chatter", rng.choice(NOT_ACTIONABLE)))
    for _ in range(28):
        plan.append(("retweet", None))
    rng.shuffle(plan)
    sent: list[tuple[str, str]] = []
    for n, (kind, what) in enumerate(plan):
        when = when + timedelta(seconds=rng.randint(5, 600))
        geo = None
        if kind in ("report", "spanish"):
            code, template = what  # type: ignore[misc]
            place, hood, lat, lon = rng.choice(PLACES)
            text = template.format(p=place)
            if rng.random() < 0.3:
                geo = (lat + rng.uniform(-0.0008, 0.0008), lon + rng.uniform(-0.0008, 0.0008))
            obj = tweet(rng, n, when, text, geo=geo, media=rng.random() < 0.2)
            label = {"actionable": True, "code": code, "neighborhood": hood, "lat": lat, "lon": lon}
            sent.append((obj["data"]["id"], text))
        elif kind == "chatter":
            obj = tweet(rng, n, when, str(what), geo=None)
            label = {"actionable": False, "code": None}
        else:
            if not sent:
                obj = tweet(rng, n, when, rng.choice(NOT_ACTIONABLE), geo=None)
                label = {"actionable": False, "code": None}
            else:
                orig_id, orig_text = rng.choice(sent)
                obj = tweet(rng, n, when, f"RT @{handle(rng)}: {orig_text}"[:280], geo=None, retweet_of=orig_id)
                label = {"actionable": False, "code": None, "repost_of": f"x:{orig_id}"}
        lines.append(obj)
        labels.append({"id": f"x:{obj['data']['id']}", **label})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in lines))
    OUT.with_suffix(".labels.jsonl").write_text("".join(json.dumps(o) + "\n" for o in labels))
    print(f"wrote {len(lines)} posts to {OUT}")


if __name__ == "__main__":
    main()
