"""The HTML report in a real browser: headless Chromium (Debian package ``chromium``), offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import pytest

from civic_signal.sinks.reports.build import CHART_PX, MAP_PX
from civic_signal.sinks.reports.pngsize import png_size
from tests.conftest import require_or_skip

pytestmark = pytest.mark.chromium

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--virtual-time-budget=5000"]


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        require_or_skip("CIVIC_REQUIRE_CHROMIUM", "chromium is not installed (Debian package chromium)")
    return exe


def _run(exe: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=120)


def test_report_page_shows_every_chart_decoded(chromium, replayed):
    url = replayed.report.html.as_uri()
    dom = _run(chromium, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    imgs = re.findall(r"<img [^>]*>", dom.stdout)
    loaded = {re.search(r'id="chart-(\w+)"', i).group(1): re.search(r'data-loaded="(\d+)x(\d+)"', i)
              for i in imgs if 'class="chart"' in i}
    assert set(loaded) == {"volume", "map", "locations", "latency", "expected"}
    for key, m in loaded.items():
        assert m is not None, f"{key} did not load"
        assert (int(m.group(1)), int(m.group(2))) == (MAP_PX if key == "map" else CHART_PX)


def test_report_screenshot_is_not_blank(chromium, replayed, tmp_path):
    import numpy as np
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    res = _run(chromium, f"--screenshot={shot}", "--window-size=1200,2000", replayed.report.html.as_uri())
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    assert png_size(shot) == (1200, 2000)
    pixels = imread(shot)[..., :3]
    colours = np.unique((pixels.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert len(colours) > 200  # charts and a map, not an empty white page
    assert (pixels < 0.9).any(axis=2).mean() > 0.05  # a good share of the page is drawn on
