"""deploy/systemd: each role has a unit template that ``systemd-analyze verify`` accepts, and whose
``ExecStart`` is a command line the installed CLI accepts."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, require_or_skip

UNITS = REPO / "deploy" / "systemd"
BINARY = "/opt/civic-signal/bin/civic-signal"
INSTANCES = {"civic-signal-listen@.service": "x", "civic-signal-work-classify@.service": "1",
             "civic-signal-work-sink@.service": "main", "civic-signal-work-deliver@.service": "main",
             "civic-signal-run@.service": "sample"}


def _directives(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_every_long_running_role_has_a_unit():
    assert {p.name for p in UNITS.glob("*.service")} == set(INSTANCES)
    commands = {" ".join(_directives(UNITS / u)["ExecStart"][0].split()[1:3]) for u in INSTANCES}
    assert {"listen --source", "work classify", "work sink", "work deliver",
            "--config /etc/civic-signal/run-%i.toml"} == commands


@pytest.mark.parametrize("unit", sorted(INSTANCES))
def test_systemd_analyze_verifies_the_unit(unit, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        require_or_skip("CIVIC_REQUIRE_SYSTEMD", "systemd-analyze is not installed (package systemd)")
    # instantiated, with the binary pointed at an executable that exists here
    name = unit.replace("@.", f"@{INSTANCES[unit]}.")
    (tmp_path / name).write_text((UNITS / unit).read_text().replace(BINARY, sys.executable))
    out = subprocess.run([analyze, "verify", str(tmp_path / name)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (out.stdout + out.stderr).splitlines() if name in line]
    assert out.returncode == 0 and not problems, out.stdout + out.stderr


@pytest.mark.parametrize("unit", sorted(INSTANCES))
def test_the_unit_runs_a_command_the_cli_accepts(unit, tmp_path):
    d = _directives(UNITS / unit)
    argv = shlex.split(d["ExecStart"][0].replace("%i", INSTANCES[unit]))
    assert argv[0] == BINARY
    args = argv[1:]
    if args[0] == "--config":  # the run unit's settings file: give one that exists
        cfg = tmp_path / "run.toml"
        cfg.write_text("[replay]\nspeed = 0\n")
        args[1] = str(cfg)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", *args, "--help"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert d["User"] == ["civic-signal"] and d["WorkingDirectory"] == ["/var/lib/civic-signal"]
    assert "/etc/civic-signal/civic-signal.env" in d["EnvironmentFile"]
    assert d["Environment"] == ["CIVIC_LOG__FORMAT=json"]
