"""Deletes: a PostDeleted from any source removes the text from the archive and cancels unsent tickets."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import select

from civic_signal.classifiers.keyword import KeywordClassifier
from civic_signal.listener.bus.memory import MemoryBus
from civic_signal.core.models import DELETE_STAGE, PostDeleted, Ticket, TicketStatus
from civic_signal.listener.pipeline import Pipeline
from civic_signal.core.source import ListSource
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import ClassificationRow, DeadLetterRow, PostRow, TicketRow
from civic_signal.sinks.archive_sink import ArchiveSink
from civic_signal.core.sink import ListSink
from tests.conftest import make_post


def archive(tmp_path) -> Archive:
    return Archive(f"sqlite:///{tmp_path}/deletes.db")


def ticket(tid: str, post_id: str, status: TicketStatus) -> Ticket:
    return Ticket(id=tid, post_id=post_id, service_code="REQPOTHL", description="Pothole on Dot Ave (from a post)",
                  confidence=0.9, status=status)


def test_forget_post_drops_text_and_cancels_only_unsent_tickets(tmp_path):
    a = archive(tmp_path)
    a.write_posts([make_post("Pothole on Dot Ave", n=1, raw={"text": "Pothole on Dot Ave"}), make_post("other", n=2)])
    a.queue_tickets([ticket("t1", "test:1", TicketStatus.PENDING), ticket("t2", "test:1", TicketStatus.REVIEW),
                     ticket("t3", "test:1", TicketStatus.SENT), ticket("t4", "test:2", TicketStatus.PENDING),
                     ticket("t5", "test:1", TicketStatus.FAILED), ticket("t6", "test:1", TicketStatus.REJECTED)])
    counts = a.forget_post("test:1")
    assert (counts["posts"], counts["tickets_cancelled"], counts["tickets_rewritten"]) == (1, 2, 1)
    with a.session() as s:
        row = s.get(PostRow, "test:1")
        assert row.text is None and row.raw is None and row.deleted
        assert s.get(PostRow, "test:2").text == "other"
        status = {t.id: (t.status, t.description) for t in s.exec(select(TicketRow)).all()}
    assert status["t1"][0] == status["t2"][0] == "cancelled" and "Pothole" not in status["t1"][1]
    # sent: still sent, but the local copy of the description no longer holds the post
    assert status["t3"][0] == "sent" and "Pothole" not in status["t3"][1] and "[Civic Signal ref t3]" in status["t3"][1]
    assert status["t4"][0] == "pending"
    # never accepted by the 311 system: status kept, the words gone
    assert [status[t][0] for t in ("t5", "t6")] == ["failed", "rejected"]
    assert not any("Pothole" in status[t][1] for t in ("t5", "t6"))
    assert a.forget_post("test:1")["tickets_cancelled"] == 0  # idempotent


def test_a_delete_before_its_post_leaves_a_tombstone_the_post_cannot_overwrite(tmp_path):
    a = archive(tmp_path)
    a.forget_post("test:7")
    a.write_posts([make_post("Broken streetlight on Elm St", n=7)])
    with a.session() as s:
        row = s.get(PostRow, "test:7")
    assert row.deleted and row.text is None


def test_a_delete_travels_through_the_pipeline_to_the_archive(tmp_path):
    a = archive(tmp_path)
    post = make_post("Huge pothole on Mass Ave at Columbus", n=3)
    gone = PostDeleted(post_id=post.id, source="test", deleted_at=datetime(2026, 11, 20, 13, tzinfo=timezone.utc))
    # first run archives the post; the second one carries the delete
    Pipeline([ListSource([post])], MemoryBus(), KeywordClassifier(), [ArchiveSink(a)],
             dead_letter_writer=a.write_dead_letters).run()
    stats = Pipeline([ListSource([gone])], MemoryBus(), KeywordClassifier(), [ListSink()],
                     dead_letter_writer=a.write_dead_letters).run()
    assert stats.deletes == 1 and stats.dead_letters == 0
    with a.session() as s:
        row = s.get(PostRow, post.id)
        assert row.deleted and row.text is None
        audit = s.exec(select(DeadLetterRow).where(DeadLetterRow.stage == DELETE_STAGE)).one()
        assert audit.post_id == post.id
        assert all(c.location_text is None for c in s.exec(select(ClassificationRow)).all())


def test_post_deleted_round_trips_through_its_dead_letter():
    d = PostDeleted(post_id="bsky:did:plc:abc/3k", source="jetstream", reason="delete op")
    assert PostDeleted.from_dead_letter(d.to_dead_letter()) == d
