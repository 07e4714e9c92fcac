"""The package's layers: core < config < classifiers < sinks < listener. No module imports a part above it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "civic_signal"
LAYERS = {"core": 0, "config": 1, "classifiers": 2, "sinks": 3, "listener": 4}


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def upward_imports() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = path.relative_to(PACKAGE).parts[0]
        if part not in LAYERS:
            continue
        for name in _imports(path):
            bits = name.split(".")
            if bits[0] in {"config", "listener", "sinks", "classifiers"}:
                found.append(f"{path.relative_to(PACKAGE.parent)} imports top-level {name!r} (outside civic_signal)")
            elif bits[0] == "civic_signal" and len(bits) > 1 and bits[1] in LAYERS and LAYERS[bits[1]] > LAYERS[part]:
                found.append(f"{path.relative_to(PACKAGE.parent)} ({part}) imports {name} (above it)")
    return found


def test_every_part_is_one_of_the_layers():
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert parts == set(LAYERS)


def test_no_part_imports_a_part_above_it_or_an_old_top_level_name():
    assert upward_imports() == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "civic_signal"
    (fake / "core").mkdir(parents=True)
    (fake / "core" / "bad.py").write_text("from civic_signal.sinks.incidents import IncidentSink\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert upward_imports() == ["civic_signal/core/bad.py (core) imports civic_signal.sinks.incidents (above it)"]
