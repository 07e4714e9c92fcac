"""The wheel: built from the sources, installed into a fresh virtual environment, it puts only
``civic_signal`` at the top level, carries its package data (model, gazetteer, migrations,
defaults, catalogue), and its ``civic-signal`` script works from there, importing the installed
package, not the repository.

How it installs: ``pip wheel --no-deps`` (setuptools from PyPI or pip's cache, in pip's build
isolation), then a fresh ``venv`` (no system site-packages) gets the wheel with ``pip install
--no-deps``. Its third-party dependencies (spaCy, SQLAlchemy, ...: hundreds of MB) are not
downloaded again: a ``.pth`` file in the new environment appends the test interpreter's
site-packages *after* its own, as plain paths (their ``.pth`` files, such as a development
install's editable finder, are not run), and the test checks that ``civic_signal`` is imported
from the new environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

#: Package data the CLI needs at run time, as paths inside the wheel.
REQUIRED_DATA = [
    "civic_signal/config/defaults.toml",
    "civic_signal/config/data/services.json",
    "civic_signal/classifiers/model/meta.json",
    "civic_signal/classifiers/model/model.npz",
    "civic_signal/classifiers/data/gazetteer/gazetteer.json.gz",
    "civic_signal/sinks/archive/migrations/env.py",
    "civic_signal/sinks/archive/migrations/versions/0001_base.py",
]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 600), **kw)
    assert out.returncode == 0, f"{cmd} -> {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (so that no build/ or egg-info lands in the repo)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "civic_signal", src / "civic_signal",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-*"))
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(src)], timeout=900)
    wheels = list(dist.glob("civic_signal-*.whl"))
    assert len(wheels) == 1, list(dist.iterdir())
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns the venv's directory."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = sysconfig.get_paths()["purelib"]  # where this interpreter has spaCy & co.
    (site / "zz_civic_signal_test_deps.pth").write_text(deps + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--quiet", str(wheel)])
    return env_dir


def _top_level(names) -> set[str]:
    return {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}


def test_the_wheel_holds_only_civic_signal_with_its_package_data(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next(n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info"))
        record = zf.read(f"{dist_info}/RECORD").decode().splitlines()
        top_level = zf.read(f"{dist_info}/top_level.txt").decode().split()
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert _top_level(names) == {"civic_signal"}
    assert _top_level(line.split(",", 1)[0] for line in record if line) == {"civic_signal"}
    assert top_level == ["civic_signal"]
    assert "civic-signal = civic_signal.listener.cli:main" in entry_points
    for path in REQUIRED_DATA:
        assert path in names, f"{path} is not in the wheel"
    assert not [n for n in names if "__pycache__" in n or n.endswith((".db", ".pyc"))]
    assert not [n for n in names if n.startswith(("tests/", "bench/", "scripts/"))]


def test_the_installed_wheel_adds_only_civic_signal_and_its_script(installed):
    site = next(installed.glob("lib/python*/site-packages"))
    record = next(site.glob("civic_signal-*.dist-info")) / "RECORD"
    paths = [line.split(",", 1)[0] for line in record.read_text().splitlines() if line]
    outside = {p for p in paths if p.startswith("..")}
    assert {Path(p).name for p in outside} == {"civic-signal"}  # the console script, in bin/
    assert _top_level(p for p in paths if not p.startswith("..")) == {"civic_signal"}


def test_the_cli_works_from_the_fresh_environment(installed, tmp_path):
    script = installed / "bin" / "civic-signal"
    py = installed / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME") and not k.startswith("CIVIC_")}
    work = tmp_path / "elsewhere"  # not the repository: nothing can come from the checkout
    work.mkdir()
    where = _run([str(py), "-c", "import civic_signal; print(civic_signal.__file__)"], cwd=work, env=env).stdout.strip()
    assert Path(where).is_relative_to(installed), where
    assert not Path(where).is_relative_to(REPO)

    help_out = _run([str(script), "--help"], cwd=work, env=env).stdout
    for command in ("run", "listen", "work", "classify", "console"):
        assert command in help_out

    line = json.dumps({"id": "w1", "text": "Huge pothole on Mass Ave at Boylston St, almost lost a tire"})
    out = _run([str(script), "classify", "-"], input=line + "\n", cwd=work, env=env).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["id"] == "w1" and result["actionable"] is True
    assert result["category"]["code"] == "REQPOTHL"
    assert result["location"] is not None  # the shipped gazetteer found the intersection

    # the archive (migrations shipped in the wheel) in the working directory, as a service runs it
    cfg = _run([str(script), "config", "show"], cwd=work, env=env).stdout
    assert "sqlite:///var/civic-signal.db" in cfg
    stream = work / "stream.jsonl"
    shutil.copy(REPO / "samples" / "boston_stream.jsonl", stream)
    ran = _run([str(script), "listen", "--source", "replay", "--bus", "memory", "--speed", "max", "--path", str(stream)],
               cwd=work, env={**env, "CIVIC_CLASSIFIER__KIND": "keyword", "CIVIC_CLASSIFIER__PROCESSES": "0"})
    assert "360 posts read" in ran.stdout
    assert (work / "var" / "civic-signal.db").is_file()  # relative to the working directory when installed
