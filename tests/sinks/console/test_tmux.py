"""The console in a real terminal: run it under tmux and read the screen with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, require_or_skip

pytestmark = pytest.mark.tmux


def _screen(sock: str) -> str:
    return subprocess.run(["tmux", "-S", sock, "capture-pane", "-p", "-t", "console"], capture_output=True,
                          text=True, timeout=10).stdout


@pytest.mark.parametrize("width,height", [(80, 24), (160, 48)])
def test_console_draws_in_a_real_terminal(seeded, tmp_path, width, height):
    if shutil.which("tmux") is None:
        require_or_skip("CIVIC_REQUIRE_TMUX", "tmux is not installed (Debian package tmux)")
    sock = str(tmp_path / "tmux.sock")
    cmd = " ".join(shlex.quote(x) for x in ["env", f"CIVIC_DATABASE_URL={seeded.url}", "TERM=xterm-256color",
                                            sys.executable, "-m", "civic_signal.listener.cli", "console"])
    subprocess.run(["tmux", "-S", sock, "-f", os.devnull, "new-session", "-d", "-s", "console", "-x", str(width),
                    "-y", str(height), "-c", str(REPO), cmd], check=True, timeout=10)
    try:
        deadline = time.monotonic() + 60
        screen = ""
        while time.monotonic() < deadline:  # wait for a condition, not for a time
            screen = _screen(sock)
            if "latest hits" in screen and "x-stream" in screen:
                break
            time.sleep(0.2)
        lines = screen.splitlines()
        assert "latest hits" in screen, screen
        assert "Civic Signal" in lines[0]
        assert "sources" in screen and "pipeline" in screen and "neighbourhoods" in screen
        assert "spike: 6 NOUTILFLD in Dorchester" in screen
        assert max(len(line) for line in lines) <= width
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], capture_output=True, timeout=10)
