"""``ActiveClassifier`` switches to a promoted version between batches (issue 17)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

from civic_signal.classifiers.active import ActiveClassifier
from civic_signal.classifiers.registry import SHIPPED_DIR, Registry
from civic_signal.core.classifier import Classifier
from civic_signal.core.models import Classification, Post


class _Named(Classifier):
    """Says which folder it was loaded from (unit test of the switching; the real model's switch
    is tested in tests/listener/learning/test_worker_switch.py)."""

    def __init__(self, path):
        self.version = json.loads((path / "meta.json").read_text())["version"]

    def classify(self, posts):
        return [Classification(post_id=p.id, actionable=False, actionable_score=0.0, model_version=self.version)
                for p in posts]


def _post(i: int) -> Post:
    return Post(id=f"t:{i}", source="t", text="hello", created_at=datetime.now(timezone.utc))


def _copy(reg: Registry, name: str) -> None:
    shutil.copytree(SHIPPED_DIR, reg.dir / name)
    meta = json.loads((reg.dir / name / "meta.json").read_text())
    meta["version"] = f"m@{name}"
    (reg.dir / name / "meta.json").write_text(json.dumps(meta))


def test_switches_between_batches_at_most_every_check_interval(tmp_path):
    reg = Registry(tmp_path / "models")
    _copy(reg, "v2")
    now = [0.0]
    clf = ActiveClassifier(reg, _Named, check_s=5.0, clock=lambda: now[0])
    assert clf.classify([_post(1)])[0].model_version == "spacy-linear-2"
    reg.promote("v2", tolerance=1.0, by="t")
    now[0] = 1.0
    assert clf.classify([_post(2)])[0].model_version == "spacy-linear-2"  # not checked yet
    now[0] = 6.0
    out = clf.classify([_post(3), _post(4)])
    assert [c.model_version for c in out] == ["m@v2", "m@v2"] and clf.version == "m@v2" and clf.active == "v2"
    reg.rollback(by="t")
    now[0] = 12.0
    assert clf.classify([_post(5)])[0].model_version == "spacy-linear-2"


def test_a_version_that_fails_to_load_keeps_the_old_one(tmp_path, caplog):
    reg = Registry(tmp_path / "models")
    _copy(reg, "v2")
    now = [0.0]
    clf = ActiveClassifier(reg, _Named, check_s=0, clock=lambda: now[0])
    reg.promote("v2", tolerance=1.0, by="t")
    (reg.dir / "v2" / "meta.json").unlink()  # broken after promotion
    now[0] = 1.0
    assert clf.classify([_post(1)])[0].model_version == "spacy-linear-2"
    assert "keeping shipped" in caplog.text
