"""Issue 21: a post deleted at its source leaves no trace anywhere, end to end, on SQLite and PostgreSQL.

The real Mastodon (SSE) and Jetstream (WebSocket) sources read local servers speaking their wire
formats. Phase 1: a post opens an incident (with a ticket, then sent or not), another report
joins it (its text holds a raw U+2028, as Mastodon sends it), a second post opens an incident
alone, a cut copy of the first post becomes a dead letter holding its raw line, a replay run
classifies the posts again into a run of its own and an export file holds them. Phase 2: the
source sends the deletes. Phase 3: the deleted post comes again (a backfill) and a new report
joins the incident, through the same incident sink (its in-memory cache of open incidents).

The check cannot be fooled: every text column of every table, found by inspecting the schema
(so a table added later is covered), is searched for any 3 consecutive words of the deleted
posts, and the same search must find them before the delete.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import sqlalchemy as sa

from civic_signal.classifiers.keyword import KeywordClassifier
from civic_signal.config.settings import load_settings
from civic_signal.core.classifier import Classifier
from civic_signal.core.models import Location, LocationKind, Post
from civic_signal.listener.bus.memory import MemoryBus
from civic_signal.listener.cli.export_cmd import write_slice
from civic_signal.listener.pipeline import Pipeline
from civic_signal.listener.replay_runs import parse_source, run_replay
from civic_signal.listener.sources.jetstream import JetstreamSource
from civic_signal.listener.sources.mastodon import MastodonSource
from civic_signal.listener.sources.streaming import Backoff
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import DeadLetterRow, PostRow
from civic_signal.sinks.archive_sink import ArchiveSink
from civic_signal.sinks.incidents import IncidentSink
from tests.listener.sources.servers import ScriptedServer
from tests.services.postgres import db_url, pg_server, pg_url  # noqa: F401  (fixtures)

GONE_TEXT = "Someone dumped a couch and two mattresses on the sidewalk at 45 Elm Street, it has been there since Monday"
ALONE_TEXT = "Illegal dumping of old tires near 12 Oak Avenue behind the laundromat for weeks now"
JOIN_TEXT = "More trash dumped by the Elm Street playground\u2028the whole block smells awful"
LATER_TEXT = "Trash dumped on the curb near the Elm Street playground again today"
#: where the test classifier places a post naming one of these (the playground is 14 m from no. 45)
PLACES = {"45 Elm Street": (42.3001, -71.0601), "Elm Street playground": (42.3002, -71.0602),
          "12 Oak Avenue": (42.3101, -71.0701)}
_PLACE = re.compile("|".join(map(re.escape, PLACES)))


class Locating(Classifier):
    """The keyword classifier, plus the street address a post names (with the matched words as
    the location text, as the real location component stores them)."""

    version = "keyword-locating-test"

    def __init__(self) -> None:
        self.inner = KeywordClassifier()

    def classify(self, posts):
        out = []
        for post, c in zip(posts, self.inner.classify(posts)):
            m = _PLACE.search(post.text)
            if m:
                lat, lon = PLACES[m.group()]
                c = c.model_copy(update={"location": Location(text=m.group(), kind=LocationKind.ADDRESS,
                                                              address=m.group(), lat=lat, lon=lon, score=0.9)})
            out.append(c)
        return out


# -- what the test looks for ---------------------------------------------------------------------
def _words(s: str) -> list[str]:
    return re.findall(r"[^\W_]+", s.casefold())


def trigrams(text: str) -> set[str]:
    w = _words(text)
    return {" ".join(w[i:i + 3]) for i in range(len(w) - 2)}


#: the reports that live on may share a few words with the deleted ones; those are theirs to keep
SURVIVORS = trigrams(JOIN_TEXT) | trigrams(LATER_TEXT)


def traces(engine: sa.Engine, text: str) -> list[tuple[str, str, str]]:
    """(table, column, trigram) for every text column value holding 3 consecutive words of ``text``
    (other than those of the reports that live on)."""
    marks = trigrams(text) - SURVIVORS
    assert len(marks) >= 10
    found = []
    insp = sa.inspect(engine)
    with engine.connect() as conn:
        for table in insp.get_table_names():
            cols = [c["name"] for c in insp.get_columns(table)
                    if isinstance(c["type"], (sa.String, sa.Text, sa.JSON)) or "CHAR" in str(c["type"]).upper()]
            if not cols:
                continue
            t = sa.Table(table, sa.MetaData(), autoload_with=conn)
            for row in conn.execute(sa.select(*[t.c[c] for c in cols])):
                for col, value in zip(cols, row):
                    if value is None:
                        continue
                    hay = " " + " ".join(_words(str(value))) + " "
                    found += [(table, col, m) for m in marks if f" {m} " in hay]
    return found


# -- the two sources, each as a scripted local server and a source on it -------------------------
class MastodonWire:
    name = "mastodon"

    def __init__(self) -> None:
        self.ids = {"gone": "110000000000000001", "alone": "110000000000000002", "join": "110000000000000003",
                    "later": "110000000000000004"}
        self.server: ScriptedServer | None = None

    def status(self, key: str, text: str) -> dict:
        sid = self.ids[key]
        return {"id": sid, "created_at": "2026-11-20T12:00:00.000Z", "language": "en", "content": f"<p>{text}</p>",
                "account": {"id": "9", "acct": f"neighbor_{key}"}, "url": f"https://m.example/@n/{sid}",
                "media_attachments": [], "tags": [], "in_reply_to_id": None, "reblog": None, "spoiler_text": ""}

    @staticmethod
    def raw(obj) -> str:
        # as Mastodon's server writes JSON (JavaScript's JSON.stringify): U+2028 and U+2029 raw
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    def post_id(self, key: str) -> str:
        return f"mastodon:{self.ids[key]}"

    def start(self, phases: list[list[bytes]]) -> None:
        def step(events):
            def run(r):
                r.start_stream("text/event-stream")
                for e in events:
                    r.chunk(e)
                r.keep_alive_until_released(b":thump\n\n")
            return run
        self.server = ScriptedServer({"GET /api/v1/streaming/public": [step(p) for p in phases]}).__enter__()

    def phases(self) -> list[list[bytes]]:
        ev = lambda name, data: f"event: {name}\ndata: {data}\n\n".encode()  # noqa: E731
        gone = self.raw(self.status("gone", GONE_TEXT))
        return [
            [ev("update", gone), ev("update", gone[: gone.index("since Monday")]),  # a cut copy: a dead letter with the raw line
             ev("update", self.raw(self.status("join", JOIN_TEXT))), ev("update", self.raw(self.status("alone", ALONE_TEXT)))],
            [ev("delete", self.ids["gone"]), ev("delete", self.ids["alone"])],
            [ev("update", gone), ev("update", self.raw(self.status("later", LATER_TEXT)))],
        ]

    def replay_lines(self) -> list[str]:
        return [self.raw(self.status("gone", GONE_TEXT)), self.raw(self.status("join", JOIN_TEXT))]

    def source(self, archive: Archive):
        s = load_settings(mastodon={"streaming_url": self.server.url + "/api/v1/streaming", "watchdog_s": 2.0,
                                    "streams": ["public"]}).mastodon
        return MastodonSource(s, backoff_factory=lambda: Backoff(0.05, 0.05),
                              known=lambda pid: archive.count(PostRow, PostRow.id == pid) > 0)

    def close(self) -> None:
        if self.server is not None:
            self.server.__exit__(None, None, None)


class JetstreamWire:
    name = "jetstream"
    did = "did:plc:civicsignaltestauthor1"

    def __init__(self) -> None:
        self.rkeys = {"gone": "3kgonegonegon", "alone": "3kalonealonea", "join": "3kjoinjoinjoi", "later": "3klaterlaterl"}
        self.t = 1_763_640_000_000_000
        self.scripts: list = []
        self.release = threading.Event()
        self.server = None

    def _t(self) -> int:
        self.t += 1
        return self.t

    def create(self, key: str, text: str) -> str:
        return json.dumps({"did": self.did, "time_us": self._t(), "kind": "commit",
                           "commit": {"rev": "r", "operation": "create", "collection": "app.bsky.feed.post",
                                      "rkey": self.rkeys[key], "cid": "bafy",
                                      "record": {"$type": "app.bsky.feed.post", "text": text, "langs": ["en"],
                                                 "createdAt": "2026-11-20T12:00:00.000Z"}}}, ensure_ascii=False)

    def delete(self, key: str) -> str:
        return json.dumps({"did": self.did, "time_us": self._t(), "kind": "commit",
                           "commit": {"rev": "r", "operation": "delete", "collection": "app.bsky.feed.post",
                                      "rkey": self.rkeys[key]}})

    def post_id(self, key: str) -> str:
        return f"bsky:{self.did}/{self.rkeys[key]}"

    def phases(self) -> list[list[str]]:
        gone = self.create("gone", GONE_TEXT)
        return [[gone, gone[: gone.index("since Monday")], self.create("join", JOIN_TEXT), self.create("alone", ALONE_TEXT)],
                [self.delete("gone"), self.delete("alone")],
                [self.create("gone", GONE_TEXT), self.create("later", LATER_TEXT)]]

    def replay_lines(self) -> list[str]:
        return [self.create("gone", GONE_TEXT), self.create("join", JOIN_TEXT)]

    def start(self, phases) -> None:
        from websockets.sync.server import serve
        self.scripts = phases
        self.n = 0

        def handler(ws):
            n, self.n = self.n, self.n + 1
            for m in self.scripts[min(n, len(self.scripts) - 1)] if n < len(self.scripts) else []:
                ws.send(m)
            while not self.release.wait(0.05):
                ws.send(json.dumps({"did": self.did, "time_us": 1, "kind": "identity", "identity": {}}))
        self.server = serve(handler, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/subscribe"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def source(self, archive: Archive):
        s = load_settings(jetstream={"url": self.url, "keywords": [], "watchdog_s": 2.0}).jetstream
        return JetstreamSource(s, None, backoff=Backoff(0.05, 0.05),
                               known=lambda pid: archive.count(PostRow, PostRow.id == pid) > 0)

    def close(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()


# -- driving the pipeline --------------------------------------------------------------------------
def run_until(archive: Archive, source, sinks, done, limit_s: float = 30.0) -> None:
    """Run the real pipeline on ``source`` until ``done()`` holds, then close the source and let it drain."""
    pipe = Pipeline([source], MemoryBus(), Locating(), sinks, dead_letter_writer=archive.write_dead_letters,
                    batch_size=8)
    t = threading.Thread(target=pipe.run, daemon=True)
    t.start()
    deadline = time.monotonic() + limit_s
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    source.close()
    t.join(20)
    assert not t.is_alive()
    assert done(), "the pipeline did not get there"


def one(engine: sa.Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


@pytest.mark.parametrize("wire_cls", [MastodonWire, JetstreamWire], ids=["mastodon", "jetstream"])
@pytest.mark.parametrize("sent", [False, True], ids=["unsent", "sent"])
@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_deleted_post_leaves_no_trace_anywhere(db_url, wire_cls, sent, tmp_path):
    archive = Archive(db_url)
    engine = archive.engine
    wire = wire_cls()
    wire.start(wire.phases())
    incidents = IncidentSink(archive, auto_threshold=0.5, review_threshold=0.3)
    sinks = [ArchiveSink(archive), incidents]
    gone, alone, join, later = (wire.post_id(k) for k in ("gone", "alone", "join", "later"))

    def count(sql: str, **p) -> int:
        return one(engine, sql, **p)[0]
    try:
        # phase 1: reports, incidents, tickets, a dead letter with the raw line
        run_until(archive, wire.source(archive), sinks, lambda: count(
            "SELECT count(*) FROM incident_reports") == 3 and count("SELECT count(*) FROM dead_letters") >= 1)
        inc_gone = one(engine, "SELECT id, ticket_id, report_count FROM incidents WHERE first_post_id = :p", p=gone)
        assert inc_gone.report_count == 2  # the post and the report that joined it
        inc_alone = one(engine, "SELECT id, ticket_id FROM incidents WHERE first_post_id = :p", p=alone)
        assert inc_gone.ticket_id and inc_alone.ticket_id
        if sent:  # handed to the 311 system, as the delivery worker records it
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE tickets SET status = 'sent', service_request_id = 'sr-1' WHERE id IN (:a, :b)"),
                             {"a": inc_gone.ticket_id, "b": inc_alone.ticket_id})
        # the report holding U+2028 arrived once, intact
        assert count("SELECT count(*) FROM posts WHERE id = :p", p=join) == 1
        assert one(engine, "SELECT text FROM posts WHERE id = :p", p=join).text.startswith(JOIN_TEXT)
        # a replay run and an export
        replay = tmp_path / "replay.jsonl"
        replay.write_text("".join(line + "\n" for line in wire.replay_lines()), encoding="utf-8")
        run = run_replay(load_settings(database_url=db_url), parse_source(str(replay)), run_id="replay-1",
                         classifier=Locating())
        assert run.classified == 2
        export = tmp_path / "classified.csv"
        assert write_slice(archive, "classified", export, "csv") >= 5
        # the search finds the words before the delete, in every kind of copy
        before = {(t, c) for t, c, _ in traces(engine, GONE_TEXT)}
        assert {("posts", "text"), ("posts", "raw"), ("incidents", "body"), ("tickets", "description"),
                ("dead_letters", "payload"), ("classifications", "location_text")} <= before
        assert GONE_TEXT.split(",")[0] in export.read_text(encoding="utf-8")

        # phase 2: the deletes
        run_until(archive, wire.source(archive), sinks, lambda: count(
            "SELECT count(*) FROM posts WHERE deleted = :t AND id IN (:a, :b)", t=True, a=gone, b=alone) == 2)
        # phase 3: the deleted post again (a backfill) and a new report joining the incident
        run_until(archive, wire.source(archive), sinks, lambda: count(
            "SELECT count(*) FROM incident_reports WHERE post_id = :p", p=later) == 1)

        for text in (GONE_TEXT, ALONE_TEXT):
            assert traces(engine, text) == []
        assert not export.exists()
        inc = one(engine, "SELECT status, body, first_post_id, report_count FROM incidents WHERE id = :i", i=inc_gone.id)
        assert inc.status == "open" and inc.first_post_id == join and inc.report_count == 2
        assert inc.body.startswith("More trash dumped by the Elm Street playground")
        t = one(engine, "SELECT status, post_id, description FROM tickets WHERE id = :i", i=inc_gone.ticket_id)
        assert f"[Civic Signal ref {inc_gone.ticket_id}]" in t.description
        if sent:
            assert t.status == "sent" and "deleted at its source" in t.description
            assert count("SELECT count(*) FROM ticket_events WHERE ticket_id = :i AND kind = 'source_deleted'",
                         i=inc_gone.ticket_id) == 1
        else:  # rebuilt from the next report, with the one that joined after the delete
            assert t.status == "pending" and t.post_id == join
            assert "More trash dumped" in t.description and "2 reports" in t.description
        closed = one(engine, "SELECT status, body, report_count FROM incidents WHERE id = :i", i=inc_alone.id)
        assert (closed.status, closed.body, closed.report_count) == ("closed", "", 0)
        assert one(engine, "SELECT status FROM tickets WHERE id = :i", i=inc_alone.ticket_id).status == (
            "sent" if sent else "cancelled")
        # the deleted post came again and stayed a tombstone: archived once, filed nowhere
        assert count("SELECT count(*) FROM posts WHERE id = :p AND text IS NULL", p=gone) == 1
        assert count("SELECT count(*) FROM incident_reports WHERE post_id = :p", p=gone) == 1
        assert count("SELECT count(*) FROM classifications WHERE post_id = :p AND location_text IS NOT NULL", p=gone) == 0
        assert count("SELECT count(*) FROM dead_letters WHERE stage = 'source:delete'") == 2
        # every status and post archived once; the only dead letters: the cut copy and the two deletes
        assert count("SELECT count(*) FROM posts") == 4 and archive.count(DeadLetterRow) == 3
    finally:
        wire.close()
        archive.close()
