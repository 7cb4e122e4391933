"""Intervals against an external reference (statsmodels), reproducibility, pairing rules."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import DescrStatsW

from replication.claims import Direction, Scale
from replication.stats import (
    confidence_interval,
    from_analysis_scale,
    paired_table,
    pooled_entropy,
    rng_for,
    to_analysis_scale,
    unpaired_seeds,
)


def test_t_interval_matches_statsmodels():
    d = np.array([0.01, -0.02, 0.03, 0.015, 0.0])
    ci = confidence_interval(d, rng=rng_for("x"))
    lo, hi = DescrStatsW(d).tconfint_mean(alpha=0.05)
    assert ci.method == "t"
    assert (ci.low, ci.high) == pytest.approx((lo, hi), rel=1e-12)


def test_bootstrap_from_ten_pairs_and_reproducible():
    d = np.random.default_rng(3).normal(0.01, 0.02, 12)
    a = confidence_interval(d, rng=rng_for("claim", "effect"))
    b = confidence_interval(d, rng=rng_for("claim", "effect"))
    c = confidence_interval(d, rng=rng_for("claim", "other"))
    assert a.method == "BCa bootstrap" and a == b and a != c
    assert a.low < d.mean() < a.high


def test_degenerate_and_tiny_inputs():
    assert confidence_interval(np.zeros(12), rng=rng_for("x")).method == "degenerate"
    one = confidence_interval(np.array([0.1]), rng=rng_for("x"))
    assert math.isnan(one.low) and one.method == "none"


@pytest.mark.parametrize("direction", list(Direction))
def test_relative_scale_round_trip(direction):
    x = to_analysis_scale(0.084, Scale.relative, direction)
    assert x > 0
    assert from_analysis_scale(x, Scale.relative, direction) == pytest.approx(0.084)


def test_relative_decrease_of_loss():
    # loss 3.358 -> 3.138 is a 6.55% decrease, positive on the analysis scale
    d = -(math.log(3.138) - math.log(3.358))
    assert from_analysis_scale(d, Scale.relative, Direction.decrease) == pytest.approx(
        1 - 3.138 / 3.358
    )


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
    # two seeds that each favour a different expert average to a flatter vector
    assert pooled_entropy([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]) > pooled_entropy([[0.5, 0.3, 0.2]])
