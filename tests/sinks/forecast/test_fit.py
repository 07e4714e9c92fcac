"""The NB GLM prior: recovers known seasonal factors from synthetic counts; the dump reader keeps only counts."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta

import numpy as np
import pytest

from civic_signal.sinks.forecast.fit import fit
from civic_signal.sinks.forecast.history import UNKNOWN_HOOD, HourCount, aggregate, read_counts, write_counts
from civic_signal.sinks.forecast.model import POOLED, params_to_json

MONTH = np.array([0.5, 0.6, 2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 1.0, 1.1, 0.7, 0.7])
DOW = np.array([1.4, 1.2, 1.0, 1.0, 1.0, 0.7, 0.7])


def synthetic(seed=0, daily=40.0, alpha=0.2, years=(2015, 2016, 2017)) -> list[HourCount]:
    """NB daily counts with MONTH x DOW seasonality, all at 10:00 in Jamaica Plain, and an "Other" type."""
    rng = np.random.default_rng(seed)
    m, w = MONTH / MONTH.mean(), DOW / DOW.mean()
    rows = []
    d = date(years[0], 1, 1)
    while d < date(years[-1] + 1, 1, 1):
        mu = daily * m[d.month - 1] * w[d.weekday()]
        n = rng.negative_binomial(1 / alpha, (1 / alpha) / (1 / alpha + mu))
        if n:
            rows.append(HourCount("REQPOTHL", "Jamaica Plain", d, 10, int(n)))
        k = rng.poisson(20)
        if k:
            rows.append(HourCount("BOS311GEN", "Dorchester", d, 14, int(k)))
        d += timedelta(1)
    return rows


def test_the_glm_recovers_month_weekday_and_overdispersion():
    params = fit(synthetic(), 2015, 2018)
    p = params["REQPOTHL"]
    month = np.array(p.month)
    assert month[2] == pytest.approx((MONTH / MONTH.mean())[2], rel=0.12)  # March
    assert month[0] == pytest.approx((MONTH / MONTH.mean())[0], rel=0.15)
    dow = np.array([sum(p.week[d * 24:(d + 1) * 24]) / 24 for d in range(7)])
    assert dow[0] / dow[6] == pytest.approx(DOW[0] / DOW[6], rel=0.15)
    assert p.alpha == pytest.approx(0.2, abs=0.06)
    assert p.daily == pytest.approx(40.0, rel=0.1)
    assert max(p.week) == max(p.week[d * 24 + 10] for d in range(7))  # reports come at 10:00
    assert p.shares["Jamaica Plain"] > 0.9 and sum(p.shares.values()) == pytest.approx(1.0)
    assert POOLED in params and params["BOS311GEN"].alpha < 0.05  # Poisson counts: no overdispersion


def test_the_prior_is_deterministic():
    rows = synthetic(seed=3)
    assert params_to_json(fit(rows, 2015, 2018), {}) == params_to_json(fit(list(reversed(rows)), 2015, 2018), {})


def test_the_dump_is_reduced_to_counts_by_local_hour_and_neighbourhood(tmp_path):
    dump = tmp_path / "dump.jsonl.gz"
    records = [
        {"service_name": "Illegal Parking", "requested_datetime": "2016-03-01T08:15:00-05:00",
         "lat": 42.3101, "long": -71.1145, "description": "Blue sedan plate 123ABC"},
        {"service_name": "Illegal Parking", "requested_datetime": "2016-03-01T13:40:00Z",  # 08:40 in Boston
         "lat": 42.3102, "long": -71.1146, "description": None},
        {"service_name": "Other", "requested_datetime": "2016-03-02T10:00:00-05:00",
         "lat": None, "long": None, "description": "huge pothole in the road"},
        {"service_name": "Other", "requested_datetime": "not a time", "lat": 1, "long": 2},
    ]
    with gzip.open(dump, "wt") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    rows = aggregate(dump)
    assert rows == [HourCount("PRKGENFORC", "Jamaica Plain", date(2016, 3, 1), 8, 2),
                    HourCount("REQPOTHL", UNKNOWN_HOOD, date(2016, 3, 2), 10, 1)]
    write_counts(rows, tmp_path / "c.csv.gz")
    assert read_counts(tmp_path / "c.csv.gz") == rows
    assert b"sedan" not in gzip.decompress((tmp_path / "c.csv.gz").read_bytes())
