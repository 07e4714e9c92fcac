"""The cross-city figures (training/crosseval.py) and the multi-source training-data build (training/sources.py)."""

import gzip
import json

from civic_signal.classifiers.training import crosseval, sources


def _row(types, label="L"):
    return {"text": "t", "types": tuple(types), "label": label, "source": "s"}


def test_measure_macro_general_share_and_calibration():
    rows = [_row(["pothole"])] * 10 + [_row(["sign_damaged", "pavement_marking"], "Signs")] * 10 \
        + [_row(["graffiti"])] * 2 + [_row([], "Other")] * 3
    pred = ([{"type": "pothole", "p": 0.9, "actionable": True}] * 8
            + [{"type": "other", "p": 0.3, "actionable": True}] * 2
            + [{"type": "pavement_marking", "p": 0.8, "actionable": True}] * 5
            + [{"type": "sign_damaged", "p": 0.8, "actionable": False}] * 5
            + [{"type": "pothole", "p": 0.5, "actionable": True}] * 2
            + [{"type": "pothole", "p": 0.5, "actionable": True}] * 3)
    got = crosseval.measure(rows, pred)
    # pothole 0.8, the broad sign class 1.0 (either type is right); graffiti (n=2) is listed, not averaged
    assert got["macro_accuracy"] == 0.9 and got["classes_averaged"] == 2
    assert got["classes"]["graffiti"]["accuracy"] == 0.0
    assert got["general_share"] == round(2 / 22, 4)
    assert got["actionable_recall"] == round(20 / 25, 4) and got["n_typed"] == 22
    # ECE: bins 0.3 (acc 0), 0.5 (acc 0), 0.8 (acc 1), 0.9 (acc 1)
    expect = (2 * 0.3 + 2 * 0.5 + 10 * 0.2 + 8 * 0.1) / 22
    assert abs(got["ece"] - round(expect, 4)) < 1e-4
    assert sum(b["n"] for b in got["reliability"]) == 22


def test_sources_build_scrubs_caps_and_counts(tmp_path):
    data = tmp_path / "data"
    (data / "civic_reports").mkdir(parents=True)
    rows = [{"text": "the pothole on the street is deep", "label": "Potholes", "date": "2014-01-01"}] * 1
    rows += [{"text": f"the pothole on the street is deep number {i}", "label": "Potholes", "date": "2014-01-02"}
             for i in range(20)]
    rows += [{"text": "Zebulon Quixote called 555-0100 about the pothole on the street", "label": "Potholes",
              "date": "2014-01-03"}]
    rows += [{"text": "the street is deep in pothole trouble", "label": "Mystery", "date": "2014-01-04"}] * 12
    with gzip.open(data / "civic_reports" / "newhaven_seeclickfix.jsonl.gz", "wt") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    tax = tmp_path / "tax"
    (tax / "sources").mkdir(parents=True)
    (tax / "sources" / "newhaven_seeclickfix.json").write_text(json.dumps(
        {"source": "newhaven_seeclickfix", "labels": {"Potholes": {"types": ["pothole"]}}, "untyped": {},
         "unmapped": {}}))
    counts = sources.build(data, tmp_path / "out", tax)
    with gzip.open(tmp_path / "out" / sources.OUT_FILE, "rt") as fh:
        out = [json.loads(line) for line in fh]
    texts = [r["text"] for r in out]
    assert not any("zebulon" in t or "quixote" in t or "555" in t for t in texts)
    assert "the pothole on the street is deep number #" in texts      # digits -> "#", duplicates dropped
    assert counts["newhaven_seeclickfix"] == len(out)
    spec = json.loads((tax / "sources" / "newhaven_seeclickfix.json").read_text())
    assert spec["labels"]["Potholes"]["n"] == sum(r["label"] == "Potholes" for r in out)
    assert spec["unmapped"]["Mystery"]["why"] == "not reviewed yet"      # a new label is listed, not lost


def test_a_fold_trains_calibrates_classifies_and_measures_through_the_pipeline(tmp_path):
    from civic_signal.classifiers.training.train import TrainConfig
    src = "newhaven_seeclickfix"   # a real source name, so the calibration split uses these rows
    train_rows = []
    for i in range(30):
        train_rows.append({"text": f"deep pothole in the road near house {i}", "types": ("pothole",),
                           "actionable": True, "source": src})
        train_rows.append({"text": f"street light out and dark all night number {i}", "types": ("street_light_out",),
                           "actionable": True, "source": src})
        train_rows.append({"text": f"lovely sunset and brunch with friends {i}", "types": (), "actionable": False,
                           "source": "written:chatter"})
    test_rows = [{"text": "a pothole in the road", "types": ("pothole",), "label": "Potholes", "source": "x"},
                 {"text": "the street light is out", "types": ("street_light_out", "light_pole_damaged"),
                  "label": "Lamp", "source": "x"}]
    res = crosseval.run_fold("tiny", train_rows, test_rows, TrainConfig(steps=40, min_count=1), work=tmp_path)
    assert res["fold"] == "tiny" and res["n_typed"] == 2 and res["micro_accuracy"] == 1.0
    assert res["general_share"] == 0.0 and res["temperature"] > 0
    assert len(res["reliability"]) >= 1 and "ece_uncalibrated" in res


def test_eval_without_a_file_or_cross_source_is_a_clear_error():
    from typer.testing import CliRunner

    from civic_signal.listener.cli import app
    res = CliRunner().invoke(app, ["eval"])
    assert res.exit_code != 0 and "cross-source" in res.output
