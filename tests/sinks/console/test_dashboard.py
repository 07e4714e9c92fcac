"""The dashboard loop, the run display and ``civic-signal console --once``."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO

from rich.console import Console

from civic_signal.listener.pipeline import PipelineStats
from civic_signal.core.source import ListSource
from civic_signal.sinks.console import Dashboard, RunDisplay
from civic_signal.sinks.console.collect import collect
from tests.conftest import REPO


def test_print_once_draws_one_frame_on_a_terminal(seeded):
    out = StringIO()
    console = Console(file=out, force_terminal=True, width=80, height=24, color_system=None)
    Dashboard(lambda: collect(seeded), console=console).print_once()
    lines = out.getvalue().splitlines()
    assert len(lines) == 24 and "latest hits" in out.getvalue()


def test_print_once_writes_plain_lines_when_not_a_terminal(seeded):
    out = StringIO()
    Dashboard(lambda: collect(seeded), console=Console(file=out, width=80)).print_once()
    text = out.getvalue()
    assert text.startswith("console ") and "╭" not in text and "source x-stream" in text


def test_a_failing_snapshot_becomes_an_error_frame():
    def broken():
        raise RuntimeError("database on fire")
    dash = Dashboard(broken, console=Console(file=StringIO(), force_terminal=True, width=80, height=24))
    assert "database on fire" in dash.poll().error


def test_run_display_shows_the_live_pipeline_and_the_archive(seeded):
    stats = PipelineStats()
    stats.add(posts_in=42, classified=40, actionable=7)
    src = ListSource([])
    src.health.name = "replay"
    src.health.connected = True
    console = Console(file=StringIO(), force_terminal=True, width=100, height=30, record=True, color_system=None)
    display = RunDisplay(stats, [src], console=console, archive=seeded, process="run@test")
    console.print(display.render())
    text = console.export_text()
    assert "replay" in text and "42 in · 40 cls · 7 act" in text
    assert "NOUTILFLD" in text and "review queue 2" in text


def test_run_display_prints_progress_lines_off_a_terminal():
    stats = PipelineStats()
    stats.add(posts_in=3)
    out = StringIO()
    with RunDisplay(stats, [], console=Console(file=out, width=80)):
        pass
    assert "progress: posts=3" in out.getvalue()


def test_console_command_once(seeded):
    env_db = str(seeded.url)
    import os
    env = {**os.environ, "CIVIC_DATABASE_URL": env_db}
    plain = subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", "console", "--once"], capture_output=True,
                           text=True, cwd=REPO, env=env, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert "source x-stream: connected=yes" in plain.stdout and "ALERT [warning] spike" in plain.stdout
    frame = subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", "console", "--once", "--frame", "--width", "120",
                            "--height", "30"], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert frame.returncode == 0, frame.stderr
    assert "neighbourhoods" in frame.stdout and "alerts" in frame.stdout
    # the console recorded the spike it saw
    import sqlalchemy as sa
    with seeded.engine.connect() as conn:
        assert conn.execute(sa.text("select rule from alerts")).scalars().all() == ["category_spike"]
