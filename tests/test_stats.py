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
    hall_interval,
    hall_power,
    holm,
    n_required,
    p_greater,
    p_less,
    paired_table,
    pooled_entropy,
    prob_improvement,
    rng_for,
    skewness,
    unpaired_seeds,
)


def test_two_pairs_is_the_t_interval():
    d = np.array([0.01, -0.02])
    ci = confidence_interval(d)
    lo, hi = DescrStatsW(d).tconfint_mean(alpha=0.05)
    assert ci.method == "t"
    assert (ci.low, ci.high) == pytest.approx((lo, hi), rel=1e-12)


def test_symmetric_sample_gives_the_t_interval():
    d = np.array([-0.03, -0.01, 0.0, 0.01, 0.03])  # sample skewness exactly 0
    ci = confidence_interval(d)
    lo, hi = DescrStatsW(d).tconfint_mean(alpha=0.05)
    assert ci.method == "t ∪ Hall"
    assert (ci.low, ci.high) == pytest.approx((lo, hi), rel=1e-9)


def test_union_contains_t_and_leans_with_the_skew():
    d = np.random.default_rng(3).gamma(1.0, 1.0, 12)  # right-skewed
    assert skewness(d) > 0.5
    ci = confidence_interval(d)
    lo, hi = DescrStatsW(d).tconfint_mean(alpha=0.05)
    assert ci.low <= lo + 1e-12 and ci.high > hi  # a long right tail widens the upper end
    h_lo, h_hi = hall_interval(d, 0.95)
    assert (ci.low, ci.high) == (min(lo, h_lo), max(hi, h_hi))
    mirrored = confidence_interval(-d)
    assert (mirrored.low, mirrored.high) == pytest.approx((-ci.high, -ci.low))
    wider = confidence_interval(d, level=1 - 0.05 / 3)
    assert wider.low < ci.low and wider.high > ci.high


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_sided_p_values_invert_the_interval(seed):
    """p_greater at the interval's lower end is alpha/2: decisions by CI and by p agree."""
    d = np.random.default_rng(seed).gamma(2.0, 1.0, 10) - 1.5
    level = 1 - 0.05 / 3
    ci = confidence_interval(d, level=level)
    assert p_greater(d, ci.low) == pytest.approx((1 - level) / 2, rel=1e-6)
    assert p_less(d, ci.high) == pytest.approx((1 - level) / 2, rel=1e-6)
    assert p_greater(d, ci.low - 1e-3) < (1 - level) / 2 < p_greater(d, ci.low + 1e-3)


def test_degenerate_and_tiny_inputs():
    assert confidence_interval(np.zeros(12)).method == "degenerate"
    one = confidence_interval(np.array([0.1]))
    assert math.isnan(one.low) and one.method == "none"
    assert p_greater(np.full(5, 0.3), 0.1) == 0.0 and p_greater(np.full(5, 0.0), 0.1) == 1.0


def test_skew_against_the_test_costs_seeds():
    base = n_required(0.75, 1.0, 0.025, 0.825)
    ref = TTestPower().solve_power(effect_size=0.75, alpha=0.025, power=0.825, alternative="larger")
    assert base == pytest.approx(ref)
    assert n_required(0.75, 1.0, 0.025, 0.825, skew=-1.0) > base + 3
    assert n_required(0.75, 1.0, 0.025, 0.825, skew=1.0) == pytest.approx(base)
    assert hall_power(20, 0.75, 0.0, 0.025) == pytest.approx(
        TTestPower().power(effect_size=0.75, nobs=20, alpha=0.025, alternative="larger"), abs=0.01
    )


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
