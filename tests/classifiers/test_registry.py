"""Model versions and the promotion gate (issue 17)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from civic_signal.classifiers.registry import POINTER, SHIPPED, SHIPPED_DIR, Registry, marker, write_atomic
from civic_signal.config.errors import ClassifierError


def _version(reg: Registry, name: str, **changes: float) -> Path:
    """A copy of the shipped model named ``name`` whose held-out figures are changed by
    ``changes`` (``set__figure=delta``)."""
    d = reg.dir / name
    shutil.copytree(SHIPPED_DIR, d)
    meta = json.loads((d / "meta.json").read_text())
    for key, delta in changes.items():
        s, f = key.split("__")
        meta["heldout"][s][f] = round(meta["heldout"][s][f] + delta, 4)
    meta["version"] = f"spacy-linear-2@{name}"
    (d / "meta.json").write_text(json.dumps(meta))
    return d


def test_the_shipped_model_is_the_implicit_first_active_version(tmp_path):
    reg = Registry(tmp_path / "models")
    assert reg.active() == SHIPPED and [v.name for v in reg.versions()] == [SHIPPED]
    assert reg.next_name() == "v2" and marker(reg.dir) is None
    assert reg.get(SHIPPED).figures["heldout_2018.macro_f1"] > 0.5


def test_promote_refuses_a_worse_version_and_says_which_figures_and_by_how_much(tmp_path):
    reg = Registry(tmp_path / "models")
    _version(reg, "v2", heldout_2018__macro_f1=-0.05, written_heldout__actionable_accuracy=-0.005)
    with pytest.raises(ClassifierError) as err:
        reg.promote("v2", tolerance=0.01, by="eve")
    msg = str(err.value)
    assert "heldout_2018.macro_f1" in msg and "(-0.0500)" in msg
    assert "written_heldout.actionable_accuracy" not in msg  # within the tolerance
    assert reg.active() == SHIPPED and not (reg.dir / POINTER).exists()
    # forced: recorded with the drops
    ptr = reg.promote("v2", tolerance=0.01, by="eve", force=True)
    assert reg.active() == "v2" and ptr["forced"] is True
    assert ptr["history"][-1]["by"] == "eve" and "heldout_2018.macro_f1" in ptr["history"][-1]["drops"][0]


def test_a_better_version_is_promoted_and_rollback_returns_to_the_one_before(tmp_path):
    reg = Registry(tmp_path / "models")
    _version(reg, "v2", heldout_2018__macro_f1=0.01)
    _version(reg, "v3", handwritten_eval__macro_f1=0.02)
    assert reg.next_name() == "v4"
    reg.promote("v2", tolerance=0.01, by="x")
    m1 = marker(reg.dir)
    reg.promote("v3", tolerance=0.01, by="x")
    assert reg.active() == "v3" and marker(reg.dir) != m1
    with pytest.raises(ClassifierError, match="already the active"):
        reg.promote("v3", tolerance=0.01, by="x")
    reg.rollback(by="y")
    assert reg.active() == "v2"
    reg.rollback(by="y")
    assert reg.active() == SHIPPED
    with pytest.raises(ClassifierError, match="nothing to roll back"):
        reg.rollback(by="y")
    assert [h["action"] for h in reg.pointer()["history"]] == ["promote", "promote", "rollback", "rollback"]


def test_a_version_without_figures_is_refused(tmp_path):
    reg = Registry(tmp_path / "models")
    d = _version(reg, "v2")
    meta = json.loads((d / "meta.json").read_text())
    meta.pop("heldout")
    (d / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ClassifierError, match="worse than the active"):
        reg.promote("v2", tolerance=0.5, by="x")
    with pytest.raises(ClassifierError, match="no model version"):
        reg.promote("v9", tolerance=0.5, by="x")
    with pytest.raises(ClassifierError, match="no model version"):
        reg.get("../etc")


def test_the_pointer_is_replaced_atomically(tmp_path, monkeypatch):
    target = tmp_path / "ACTIVE"
    write_atomic(target, "old\n")
    import os

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["ACTIVE"]


def test_with_a_scorer_both_versions_are_compared_on_fresh_figures_not_the_recorded_ones(tmp_path):
    reg = Registry(tmp_path / "models")
    _version(reg, "v2")  # records the same figures as the shipped model
    fresh = {SHIPPED_DIR: {"heldout_2018": {"macro_f1": 0.80}}, reg.dir / "v2": {"heldout_2018": {"macro_f1": 0.70}}}
    with pytest.raises(ClassifierError, match=r"heldout_2018.macro_f1 0.7000 < 0.8000 \(-0.1000\)"):
        reg.promote("v2", tolerance=0.01, by="x", figures=lambda p: fresh[p])
    assert reg.promote("v2", tolerance=0.01, by="x")["version"] == "v2"  # the recorded ones are equal


def test_a_drop_of_one_report_on_a_small_set_is_noise_two_are_a_drop(tmp_path):
    """The written held-out set has 60 reports: one report moved is worth 1/60 = 0.0167, more than the
    0.01 tolerance; the gate refuses only what exceeds both. Large sets keep the plain tolerance."""
    reg = Registry(tmp_path / "models")
    shipped = reg.get(SHIPPED).meta["heldout"]
    assert shipped["written_heldout"]["reports_n"] == 60 and shipped["heldout_2018"]["reports_n"] > 1000
    _version(reg, "v2", written_heldout__macro_f1=-0.015)           # about one report of 60
    assert reg.drops("v2", 0.01) == []
    _version(reg, "v3", written_heldout__macro_f1=-0.03)            # two reports' worth
    assert [d.figure for d in reg.drops("v3", 0.01)] == ["written_heldout.macro_f1"]
    _version(reg, "v4", heldout_2018__macro_f1=-0.015)              # 1,646 reports: the tolerance rules
    assert [d.figure for d in reg.drops("v4", 0.01)] == ["heldout_2018.macro_f1"]
    # actionable accuracy counts every line (167): 1/167 < 0.01, so the tolerance rules there too
    _version(reg, "v5", written_heldout__actionable_accuracy=-0.012)
    assert [d.figure for d in reg.drops("v5", 0.01)] == ["written_heldout.actionable_accuracy"]
