"""The verdict engine meets its advertised error rates (a fast version of `make calibrate`).

Each row of the suite is a Monte-Carlo estimate; it must lie within its bound allowing two
Monte-Carlo standard errors (replication.calibration.within). 250 simulations per row and
2,000 bootstrap resamples per interval keep this under a minute on 2 cores.
"""

import pytest

from replication import calibration

RATES = calibration.run(sims=250, n_resamples=2000, seed=11, n_jobs=2)


@pytest.mark.parametrize("rate", RATES, ids=lambda r: f"{r.name}-{r.dist}-{r.setting}")
def test_rate_within_bound(rate):
    assert calibration.within(rate), rate


def test_suite_covers_the_required_checks():
    names = {r.name for r in RATES}
    assert names == {"false confirm (sequential)", "95% CI coverage", "power to confirm"}
    assert {r.dist for r in RATES} == {"normal", "skewed", "heavy"}


def test_within_is_not_vacuous():
    bad = calibration.Rate("false confirm (sequential)", "normal", "x", 0.2, 1000, "<= 0.05")
    assert not calibration.within(bad)
    low = calibration.Rate("95% CI coverage", "normal", "n = 10", 0.85, 1000, "in [0.93, 0.97]")
    assert not calibration.within(low)
