"""Intervals, tests and power against external references (statsmodels, closed forms)."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import DescrStatsW

from replication.claims import Direction, Scale, from_analysis_scale, to_analysis_scale
from replication.stats import (
    benjamini_hochberg,
    cohens_dz,
    confidence_interval,
    detectable,
    holm,
    n_required,
    p_greater,
    paired_table,
    pooled_entropy,
    prob_improvement,
    rng_for,
    unpaired_seeds,
)


def test_t_interval_matches_statsmodels():
    d = np.array([0.01, -0.02, 0.03, 0.015, 0.0])
    ci = confidence_interval(d, rng=rng_for("x"))
    lo, hi = DescrStatsW(d).tconfint_mean(alpha=0.05)
    assert ci.method == "t"
    assert (ci.low, ci.high) == pytest.approx((lo, hi), rel=1e-12)


def test_from_ten_pairs_union_of_t_and_bca_and_reproducible():
    d = np.random.default_rng(3).normal(0.01, 0.02, 12)
    a = confidence_interval(d, rng=rng_for("claim", "effect"))
    b = confidence_interval(d, rng=rng_for("claim", "effect"))
    assert a.method == "t ∪ BCa" and a == b
    lo, hi = DescrStatsW(d).tconfint_mean(alpha=0.05)
    assert a.low <= lo + 1e-12 and a.high >= hi - 1e-12  # never narrower than t
    wider = confidence_interval(d, rng=rng_for("claim", "effect"), level=1 - 0.05 / 3)
    assert wider.low < a.low and wider.high > a.high


def test_degenerate_and_tiny_inputs():
    assert confidence_interval(np.zeros(12), rng=rng_for("x")).method == "degenerate"
    one = confidence_interval(np.array([0.1]), rng=rng_for("x"))
    assert math.isnan(one.low) and one.method == "none"
    assert p_greater(np.full(5, 0.3), 0.1) == 0.0 and p_greater(np.full(5, 0.0), 0.1) == 1.0


@pytest.mark.parametrize("direction", list(Direction))
@pytest.mark.parametrize("scale, value", [(Scale.relative, 0.084), (Scale.ratio, 8.1)])
def test_scale_round_trip(direction, scale, value):
    x = to_analysis_scale(value, scale, direction)
    assert x > 0
    assert from_analysis_scale(x, scale, direction) == pytest.approx(value)


def test_relative_decrease_of_loss():
    # loss 3.358 -> 3.138 is a 6.55% decrease, positive on the analysis scale
    d = -(math.log(3.138) - math.log(3.358))
    assert from_analysis_scale(d, Scale.relative, Direction.decrease) == pytest.approx(
        1 - 3.138 / 3.358
    )


def test_power_matches_statsmodels_and_the_anchor_table():
    # anchors.md §1.7: d = 1.0 needs 10 pairs, d = 0.5 needs 34 (two-sided 0.05, power 0.8)
    assert math.ceil(n_required(1.0, 1.0, 0.025, 0.8)) == 10
    assert math.ceil(n_required(0.5, 1.0, 0.025, 0.8)) == 34
    assert n_required(0.0, 1.0, 0.025, 0.8) == math.inf
    mde = detectable(20, 2.0, 0.025, 0.8)
    ref = TTestPower().solve_power(nobs=20, alpha=0.025, power=0.8, alternative="larger")
    assert mde == pytest.approx(2.0 * ref)


def test_holm_and_bh_are_statsmodels():
    p = [0.01, 0.04, 0.03, float("nan")]
    assert holm(p)[:3] == pytest.approx(multipletests(p[:3], method="holm")[1].tolist())
    assert math.isnan(holm(p)[3])
    assert benjamini_hochberg(p)[:3] == pytest.approx(
        multipletests(p[:3], method="fdr_bh")[1].tolist()
    )


def test_secondary_statistics():
    t, b = np.array([3.0, 4.0, 5.0]), np.array([1.0, 2.0, 6.0])
    p, lo, hi = prob_improvement(t, b, True, rng=rng_for("x"))
    assert p == pytest.approx(6 / 9)  # 6 of the 9 (t, b) pairs have t > b
    assert lo <= p <= hi
    assert prob_improvement(t, b, False, rng=rng_for("x"))[0] == pytest.approx(3 / 9)
    assert cohens_dz(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.0)


def frame(rows):
    return pd.DataFrame(rows, columns=["protocol", "arm", "seed", "stage", "status", "m"])


def test_pairs_only_complete_eval_runs_and_lists_the_rest():
    df = frame(
        [
            ("audit", "t", 0, "eval", "complete", 1.0),
            ("audit", "b", 0, "eval", "complete", 0.5),
            ("audit", "t", 1, "eval", "diverged", None),
            ("audit", "b", 1, "eval", "complete", 0.4),
            ("audit", "t", 2, "eval", "complete", 0.9),
            ("audit", "t", 3, "tune", "complete", 0.9),
            ("audit", "b", 3, "tune", "complete", 0.1),
        ]
    )
    pairs = paired_table(df, "m", "t", "b")
    assert list(pairs["seed"]) == [0]
    assert unpaired_seeds(df, "t", "b") == {1: "t diverged", 2: "b missing"}


def test_pooled_entropy_is_the_authors_statistic():
    assert pooled_entropy([[1 / 3] * 3, [1 / 3] * 3]) == pytest.approx(1.0)
    assert pooled_entropy([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]) > pooled_entropy([[0.5, 0.3, 0.2]])
