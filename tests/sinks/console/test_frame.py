"""Frames rendered from a seeded archive into a capture console, at 80x24 and 160x48."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from io import StringIO

import pytest
from rich.console import Console

from civic_signal.sinks.console import build_frame
from civic_signal.sinks.console.collect import collect
from civic_signal.sinks.console.frame import plain_lines


def render(snap, width: int, height: int) -> list[str]:
    console = Console(file=StringIO(), force_terminal=True, width=width, height=height, record=True,
                      color_system="truecolor")
    console.print(build_frame(snap, width, height))
    return console.export_text().splitlines()


@pytest.fixture
def snap(seeded):
    return collect(seeded, now=datetime.now(timezone.utc) + timedelta(seconds=1))


@pytest.mark.parametrize("width,height", [(80, 24), (160, 48)])
def test_frame_fills_the_screen_exactly(snap, width, height):
    lines = render(snap, width, height)
    assert len(lines) == height
    assert all(len(line) <= width for line in lines)
    assert "Civic Signal" in lines[0]


@pytest.mark.parametrize("width,height", [(80, 24), (160, 48)])
def test_every_panel_shows_its_numbers(snap, width, height):
    text = "\n".join(render(snap, width, height))
    # sources: the reporting source, connected, with reconnects and its last error
    assert "x-stream" in text and "yes" in text and "HTTP 429" in text
    # pipeline: queue depth from the heartbeat, dead letters from the archive
    assert "queue        7" in text
    assert "dead letters 2 (2 last h)" in text
    # categories: flooding leads with 6 in the last hour
    row = next(line for line in text.splitlines() if "NOUTILFLD" in line and "      6" in line)
    assert row.count("6") >= 2
    # neighbourhoods: Dorchester has 3 open tickets (pending, review, sent) and 6 reports today
    assert any("Dorchester" in line and " 3 " in line and " 6 " in line for line in text.splitlines())
    # tickets: 2 waiting for review, 1 sent, 2 pending, 1 failing
    assert "review queue 2 waiting" in text
    assert "failing      1" in text
    # latest hits: newest first, with ticket status and the post text shortened
    assert "Report 8: problem at 500 E Broadway" in text or "Report 8: problem" in text
    assert "pending" in text
    # alerts: the Dorchester flooding spike
    assert "spike: 6 NOUTILFLD in Dorchester" in text


def test_wide_frame_shows_names_incidents_and_a_day_of_sparkline(snap):
    text = "\n".join(render(snap, 160, 48))
    assert "Flood at a" in text  # category names only fit when wide
    assert "incident" in text and "last 24h" in text
    assert "█" in text


def test_counts_move_out_of_the_last_hour_but_stay_in_the_day(seeded):
    later = collect(seeded, now=datetime.now(timezone.utc) + timedelta(hours=3))
    flood = next(c for c in later.categories if c.code == "NOUTILFLD")
    assert (flood.hour, flood.day) == (0, 6)
    assert flood.series[-4] == 6 and sum(flood.series) == 6
    assert not [a for a in later.alerts if a.rule == "category_spike" and a.raised_at == later.now]


def test_nothing_to_show_yet_says_so(tmp_path):
    from civic_signal.sinks.archive import Archive
    snap = collect(Archive(f"sqlite:///{tmp_path}/empty.db"))
    text = "\n".join(render(snap, 80, 24))
    assert "no process is reporting" in text
    assert "no actionable posts yet" in text


def test_a_broken_database_shows_the_error_instead_of_numbers(seeded):
    import sqlalchemy as sa
    with seeded.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE tickets"))
    snap = collect(seeded)
    assert snap.error and "cannot read the archive" in snap.error
    assert "cannot read the archive" in render(snap, 80, 24)[0]


def test_incidents_table_is_used_when_it_exists(seeded):
    from civic_signal.sinks.incident_tables import IncidentRow
    assert collect(seeded).neighbourhood_basis == "tickets"  # the table is there but empty
    now = datetime.now(timezone.utc)
    with seeded.session() as s:
        for n, (hood, status) in enumerate([("Roxbury", "open"), ("Roxbury", "open"), ("Dorchester", "closed")]):
            s.add(IncidentRow(id=f"i{n}", category_code="REQPOTHL", neighborhood=hood, first_post_id=f"seed:{n}",
                              first_seen_at=now, last_seen_at=now, status=status))
        s.commit()
    snap = collect(seeded)
    assert snap.neighbourhood_basis == "incidents"
    top = snap.neighbourhoods[0]
    assert (top.name, top.open) == ("Roxbury", 2)
    assert "open incidents" in "\n".join(render(snap, 80, 24))


def test_plain_lines_carry_the_same_state(snap):
    lines = plain_lines(snap)
    assert lines[0].startswith("console ") and "queue=7" in lines[0] and "dead_letters=2" in lines[0]
    assert any(line.startswith("  source x-stream: connected=yes") for line in lines)
    assert "  tickets: review=2 sent=1 pending=2 failing=1" in lines
    assert any("ALERT [warning] spike: 6 NOUTILFLD in Dorchester within 30 min" in line for line in lines)


def test_a_source_whose_process_went_quiet_is_shown_silent(snap):
    later = replace(snap, now=snap.now + timedelta(minutes=5))
    text = "\n".join(render(later, 80, 24))
    assert "silent" in text
