"""The count model: intervals, windows, the shipped prior."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.sinks.forecast.model import (LOCAL, POOLED, Baseline, KeyParams, hours_in, load_prior, nb_interval,
                                               params_to_json)


def flat(key="K", daily=24.0, alpha=0.0, shares=None) -> KeyParams:
    return KeyParams(key, daily=daily, month=(1.0,) * 12, week=(1.0,) * 168,
                     shares=shares or {"A": 0.75, "B": 0.25}, alpha=alpha)


def test_interval_is_poisson_without_overdispersion_and_wider_with_it():
    assert nb_interval(0.0, 0.5, 0.99) == (0, 0)
    lo, hi = nb_interval(10.0, 0.0, 0.99)
    assert (lo, hi) == (3, 19)  # scipy poisson(10) 0.5% / 99.5% quantiles
    lo2, hi2 = nb_interval(10.0, 0.5, 0.99)
    assert lo2 <= lo and hi2 > hi


def test_a_window_counts_the_fraction_of_each_hour_it_covers():
    start = datetime(2026, 3, 2, 14, 45, tzinfo=timezone.utc)
    parts = list(hours_in(start, start + timedelta(minutes=30)))
    assert [round(f, 3) for _, f in parts] == [0.25, 0.25]
    assert parts[0][0].tzinfo == LOCAL
    b = Baseline({"K": flat(), POOLED: flat(POOLED)})
    e = b.expect("K", "A", start, start + timedelta(minutes=30))
    assert e.mean == pytest.approx(0.5 * 0.75)  # 1 an hour, half an hour, 75 % in A
    assert e.low <= e.mean <= e.high


def test_month_and_hour_of_week_shape_the_rate():
    week = [0.0] * 168
    week[9] = 168.0  # all of a week's requests on Monday 09:00-10:00 local
    month = [0.5] * 12
    month[2] = 6.5   # March
    p = KeyParams("K", daily=2.0, month=tuple(month), week=tuple(week), shares={"A": 1.0}, alpha=0.1)
    b = Baseline({"K": p, POOLED: flat(POOLED)})
    monday_9 = datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL)
    assert b.expect("K", "A", monday_9, monday_9 + timedelta(hours=1)).mean == pytest.approx(2.0 * 6.5 * 7)
    assert b.expect("K", "A", monday_9 + timedelta(hours=1), monday_9 + timedelta(hours=2)).mean == 0
    feb = datetime(2026, 2, 2, 9, 0, tzinfo=LOCAL)
    assert b.expect("K", "A", feb, feb + timedelta(hours=1)).mean == pytest.approx(2.0 * 0.5 * 7)


def test_an_unknown_type_gets_the_pooled_shape_at_a_small_level():
    b = Baseline({"BIG": flat("BIG", daily=100), "SMALL": flat("SMALL", daily=1), POOLED: flat(POOLED, daily=50)})
    p = b.for_key("NEWCODE")
    assert p.key == "NEWCODE" and p.week == b.params[POOLED].week and p.daily <= 50


def test_the_prior_round_trips_through_its_file(tmp_path):
    params = {"K": flat(alpha=0.3), POOLED: flat(POOLED)}
    path = tmp_path / "prior.json"
    path.write_bytes(params_to_json(params, {"source": "test"}))
    loaded, meta = load_prior(path)
    assert meta == {"source": "test"} and loaded["K"].alpha == 0.3 and loaded["K"].shares == {"A": 0.75, "B": 0.25}
    path.write_text('{"types": {"K": {}}}')
    with pytest.raises(ConfigError):
        load_prior(path)


def test_the_shipped_prior_is_small_and_seasonal():
    params, meta = load_prior()
    assert meta["years"] == [2013, 2018] and POOLED in params and "REQPOTHL" in params
    snow = params["UNSHVSDWLK"]
    assert snow.month[1] > 2 and snow.month[6] < 0.05       # unshovelled sidewalks: February, never July
    trees = params["TREEMAINT"]
    assert trees.month[4] > 4 * trees.month[1]               # tree work: May, not February
    assert all(abs(sum(p.week) / 168 - 1) < 0.01 and abs(sum(p.shares.values()) - 1) < 0.01
               for p in params.values())
    from civic_signal.sinks.forecast.model import PRIOR_PATH
    assert PRIOR_PATH.stat().st_size < 150_000
    assert "description" not in PRIOR_PATH.read_text()
