"""The held-out evaluation on synthetic counts whose truth is known."""

from __future__ import annotations

from civic_signal.sinks.forecast.evaluate import evaluate, exceedances, markdown
from tests.sinks.forecast.test_fit import synthetic


def test_a_seasonal_model_beats_same_week_last_year_on_stationary_counts():
    rows = synthetic(seed=11, years=(2015, 2016, 2017))
    scores = {s.key: s for s in evaluate(rows, [2017], first_year=2015, min_train=100)}
    s = scores["REQPOTHL"]
    assert s.year == 2017 and s.n_heldout > 10_000
    assert s.mase_model < s.mase_naive  # last year's week carries last year's noise; the model does not
    assert 0.85 <= s.coverage90 <= 0.97
    assert "REQPOTHL | 2017" in markdown(list(scores.values()))


def test_the_alert_replay_counts_exceedances_near_the_nominal_rate():
    rows = synthetic(seed=12, years=(2015, 2016, 2017))
    (e,) = exceedances(rows, 2017, ["REQPOTHL"], first_year=2015, level=0.99)
    # all reports at 10:00 in one neighbourhood: the model knows it, so the 10:00 cells exceed about
    # as often as a calibrated interval would (0.5 % of 365 days)
    assert e.above <= 10 and e.alerts <= e.above and e.alerts_surge <= e.alerts
