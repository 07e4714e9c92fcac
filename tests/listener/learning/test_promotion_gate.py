"""Done when (issue 17): a promotion is refused on a worse model (the real model, scored now).

v2 is the shipped model with the weights of its category head shuffled between two big
categories (potholes and sidewalk damage swap): a real, worse model. ``model promote v2`` scores
both versions on the held-out files and refuses, naming the figures and the drops; ``--force``
promotes and the pointer records it; ``model rollback`` returns to the shipped model.
"""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from civic_signal.classifiers.model import LinearModel
from civic_signal.classifiers.registry import SHIPPED, SHIPPED_DIR, Registry
from civic_signal.config.settings import load_settings
from civic_signal.listener.cli import app

runner = CliRunner()


def test_a_worse_model_is_refused_force_is_recorded_and_rollback_returns():
    reg = Registry.from_settings(load_settings())
    m = LinearModel.load(SHIPPED_DIR)
    a, b = 1 + m.codes.index("pothole"), 1 + m.codes.index("sidewalk_damage")
    w = m.weights.copy()
    w[:, [a, b]] = w[:, [b, a]]
    bias = m.bias.copy()
    bias[[a, b]] = bias[[b, a]]
    worse = LinearModel(keys=m.keys, weights=w, bias=bias, codes=m.codes, meta={**m.meta, "version": "spacy-linear-2@v2"})
    worse.save(reg.dir / "v2")  # its meta.json still claims the shipped figures: the gate scores afresh

    out = runner.invoke(app, ["model", "promote", "v2", "--by", "qa"])
    assert out.exit_code != 0
    msg = str(out.exception)
    assert "worse than the active version shipped" in msg and "heldout_2018.macro_f1" in msg, msg
    assert reg.active() == SHIPPED

    out = runner.invoke(app, ["model", "promote", "v2", "--force", "--by", "qa"])
    assert out.exit_code == 0, out.output
    assert "FORCED despite: " in out.output and "heldout_2018.macro_f1" in out.output
    ptr = json.loads((reg.dir / "ACTIVE").read_text())
    assert ptr["version"] == "v2" and ptr["forced"] is True and ptr["history"][-1]["by"] == "qa"

    out = runner.invoke(app, ["model", "rollback", "--by", "qa"])
    assert out.exit_code == 0 and "active: shipped" in out.output
    assert reg.active() == SHIPPED
    assert np.array_equal(LinearModel.load(reg.path(reg.active())).weights, m.weights)
