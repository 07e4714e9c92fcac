"""Done when (issue 17): a label flows from the CLI to the next model version.

Posts using a word the shipped model has never seen ("glorpwagon", made up for this test) are
archived, labelled by a person through ``civic-signal label``, then ``civic-signal model train``
and ``civic-signal model promote``: new posts with that word go to the labelled category and the
held-out figures (computed as the shipped model's) do not drop beyond the gate's tolerance.
Trains the real model twice (calibration, then final): a few minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from civic_signal.classifiers.registry import GATED, SHIPPED_DIR, Registry, gated, item_worth
from civic_signal.config.settings import load_settings
from civic_signal.core.models import Post
from civic_signal.listener.cli import app
from civic_signal.listener.model_training import heldout_figures
from civic_signal.sinks.archive import Archive

runner = CliRunner()
WORD = "glorpwagon"
TARGET = "abandoned_bike"
PLACES = ["Elm St", "Maple Ave", "the corner of Oak and 3rd", "Harbor Rd", "Centre St", "the library steps",
          "Walnut Park", "Beacon St", "the school gate", "Pine St"]
FRAMES = ["a {w} has been lying on {p} for days", "another {w} blocking {p} again",
          "someone left a {w} on {p}, can the city collect it", "{w} tipped over at {p} since monday"]
NEW = ["there is a {w} at the end of Cedar Lane", "two {w}s outside the bakery on Willow St",
       "{w} near Birch Rd bus shelter", "still a {w} on Chestnut St this morning"]


def _predict(texts: list[str]) -> list[tuple[bool, str | None]]:
    out = runner.invoke(app, ["classify", "-"], input="\n".join(json.dumps({"text": t}) for t in texts) + "\n")
    assert out.exit_code == 0, out.output
    res = [json.loads(ln) for ln in out.stdout.splitlines() if ln.startswith("{")]
    return [(r["actionable"], (r.get("category") or {}).get("type")) for r in res]


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a full training (two fits of ~40,000 rows) and the held-out figures: 2-5 min on 2 cores
def test_posts_labelled_through_the_cli_teach_the_next_version_and_it_passes_the_gate():
    settings = load_settings()
    archive = Archive(os.environ["CIVIC_DATABASE_URL"])
    now = datetime.now(timezone.utc)
    texts = [f.format(w=WORD, p=p) for p in PLACES for f in FRAMES][:32]
    posts = [Post(id=f"t:{i}", source="t", text=t, created_at=now) for i, t in enumerate(texts)]
    archive.write_posts(posts)
    new = [t.format(w=WORD) for t in NEW]
    before = _predict(new)
    assert sum(t == TARGET for _, t in before) <= 1, before  # the shipped model does not know the word

    out = runner.invoke(app, ["label", *[p.id for p in posts], "--type", TARGET, "--by", "tester"])
    assert out.exit_code == 0, out.output
    assert f"labelled {len(posts)} post(s) type {TARGET} by tester" in out.output

    out = runner.invoke(app, ["model", "train"])
    assert out.exit_code == 0, out.output
    assert "trained v2" in out.stdout
    reg = Registry.from_settings(settings)
    v2 = reg.get("v2")
    assert v2.meta["archive_labels"] == {"label:person": len(posts)} and v2.meta["new_terms"] == [WORD]
    assert v2.meta["training_data_sha256"] != reg.get("shipped").meta["data_sha256"]
    assert reg.active() == "shipped"  # trained, not yet active

    out = runner.invoke(app, ["model", "promote", "v2", "--by", "tester"])
    assert out.exit_code == 0, out.output
    assert reg.active() == "v2"
    # the held-out figures do not drop beyond the tolerance (what the gate checked): v2's, recorded
    # at training, against the shipped model's scored now by the same code on the same files
    # (the gate's tolerance: promote_tolerance, or one item's worth of the set when larger)
    sets = heldout_figures(SHIPPED_DIR)
    shipped = gated(sets)
    for key, value in v2.figures.items():
        tol = max(settings.classifier.promote_tolerance, item_worth(sets, key))
        assert value >= shipped[key] - tol, (key, value, shipped[key])
    assert len(v2.figures) == len(GATED)

    after = _predict(new)
    assert all(a and t == TARGET for a, t in after), after
    # and the classify command now reports the new version
    out = runner.invoke(app, ["classify", "-"], input=json.dumps({"text": new[0]}) + "\n")
    assert out.exit_code == 0
    listed = runner.invoke(app, ["model", "list"]).output
    assert "* v2" in listed and "active: v2" in listed
