import gzip

from civic_signal.core.models import DeadLetter, Post
from civic_signal.listener.sources.replay import ReplaySource
from tests.conftest import SAMPLE


def test_sample_stream_replays_every_line_as_a_post():
    items = list(ReplaySource(SAMPLE))
    lines = [line for line in SAMPLE.read_text().splitlines() if line.strip()]
    assert len(items) == len(lines) >= 300
    assert all(isinstance(i, Post) for i in items)
    assert len({i.id for i in items}) == len(items)
    assert all(i.created_at.tzinfo is not None for i in items)
    assert any(i.coordinates for i in items) and any(i.is_repost for i in items)
    assert all(i.tags for i in items)


def test_malformed_lines_become_dead_letters_with_line_numbers(tmp_path):
    good = SAMPLE.read_text().splitlines()[:3]
    path = tmp_path / "s.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(good[0] + "\n{not json\n" + good[1] + "\n[1,2]\n\n" + '{"data": {"id": "9"}}\n' + good[2] + "\n")
    items = list(ReplaySource(path))
    posts = [i for i in items if isinstance(i, Post)]
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert len(posts) == 3
    assert [d.origin for d in dead] == ["s.jsonl.gz:2", "s.jsonl.gz:4", "s.jsonl.gz:6"]
    assert "invalid JSON" in dead[0].reason and "line 2" in dead[0].reason
    assert "text is missing" in dead[2].reason


def test_speed_paces_the_replay():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    src = ReplaySource(SAMPLE, speed=100.0, sleep=sleep, clock=lambda: now[0])
    n = sum(1 for _ in src)
    assert n >= 300
    assert abs(now[0] - n / 100.0) < 0.05  # n posts at 100/s take n/100 seconds
    assert max(slept) <= 0.0101
