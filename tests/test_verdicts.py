"""Verdict rules: a hand-checkable table, then synthetic experiments with known effects."""

import math

import numpy as np
import pandas as pd
import pytest

from replication.claims import Direction, Effect, Scale
from replication.stats import estimate_effect
from replication.verdicts import Verdict, decide

C, M = 2.0, 0.5  # claimed size and margin


@pytest.mark.parametrize(
    "low, high, verdict, label",
    [
        (0.6, 2.5, Verdict.CONFIRMED, None),  # above the margin, claimed size inside
        (0.6, 2.0, Verdict.CONFIRMED, None),  # U = c still counts as "not rejected"
        (0.6, 1.9, Verdict.REFUTED, "overstated"),  # real but smaller than claimed
        (-0.4, 0.4, Verdict.REFUTED, "no effect"),  # inside +-m
        (-3.0, -0.6, Verdict.REFUTED, "reversed"),  # below -m
        (-1.0, 1.0, Verdict.REFUTED, "claimed size rejected"),  # excludes c, spans -m..m
        (0.4, 2.5, Verdict.INCONCLUSIVE, "underpowered"),  # includes c and effects below m
        (-3.0, 3.0, Verdict.INCONCLUSIVE, "underpowered"),
        (math.nan, math.nan, Verdict.INCONCLUSIVE, "no interval"),
    ],
)
def test_decision_table(low, high, verdict, label):
    d = decide(low, high, C, M)
    assert d.verdict is verdict and d.label == label
    assert d.reason


def test_margin_must_be_below_claim():
    with pytest.raises(ValueError):
        decide(0, 1, claimed=0.5, margin=0.5)


def effect(size=0.02, margin=0.005, scale=Scale.absolute, direction=Direction.increase):
    return Effect(
        name="e",
        metric="test_accuracy",
        treatment="t",
        baseline="b",
        direction=direction,
        size=size,
        scale=scale,
        margin=margin,
    )


def experiment(n, true_diff, sd, seed=0, base=0.7, seed_sd=0.05):
    """Paired runs: a per-seed level shared by both arms (as paired seeds are) plus noise."""
    rng = np.random.default_rng(seed)
    level = base + rng.normal(0, seed_sd, n)
    rows = []
    for i in range(n):
        rows.append(
            {
                "protocol": "audit",
                "arm": "b",
                "seed": i,
                "stage": "eval",
                "status": "complete",
                "test_accuracy": level[i],
            }
        )
        rows.append(
            {
                "protocol": "audit",
                "arm": "t",
                "seed": i,
                "stage": "eval",
                "status": "complete",
                "test_accuracy": level[i] + true_diff + rng.normal(0, sd),
            }
        )
    return pd.DataFrame(rows)


def verdict_of(df, eff):
    est = estimate_effect(df, eff, "audit", "synthetic")
    return est.decision.verdict, est.decision.label, est


def test_true_effect_at_claimed_size_is_confirmed():
    v, _, est = verdict_of(experiment(20, 0.02, 0.004), effect())
    assert v is Verdict.CONFIRMED and est.ci.method == "BCa bootstrap"


def test_true_zero_effect_with_many_seeds_is_no_effect():
    v, label, _ = verdict_of(experiment(30, 0.0, 0.003), effect())
    assert (v, label) == (Verdict.REFUTED, "no effect")


def test_reversed_effect_is_reversed():
    v, label, _ = verdict_of(experiment(20, -0.02, 0.004), effect())
    assert (v, label) == (Verdict.REFUTED, "reversed")


def test_two_noisy_seeds_are_inconclusive():
    v, _, est = verdict_of(experiment(2, 0.02, 0.05), effect())
    assert v is Verdict.INCONCLUSIVE and est.ci.method == "t"


def test_relative_claim_on_log_scale():
    # +10% relative, claimed 8.8%: confirmed; the same data judged against 30% is overstated
    df = experiment(20, 0.0, 0.0)
    df.loc[df["arm"] == "t", "test_accuracy"] *= 1.10
    df.loc[df["arm"] == "t", "test_accuracy"] += np.linspace(-0.002, 0.002, 20)
    eff = effect(size=0.088, margin=0.02, scale=Scale.relative)
    v, _, est = verdict_of(df, eff)
    assert v is Verdict.CONFIRMED
    assert est.shown(est.mean) == pytest.approx(0.10, abs=0.005)
    v, label, _ = verdict_of(df, effect(size=0.30, margin=0.02, scale=Scale.relative))
    assert (v, label) == (Verdict.REFUTED, "overstated")


def test_decrease_claim_signs_the_difference():
    # loss goes down by 0.1 and the claim says "decrease by 0.05": confirmed
    df = experiment(12, -0.1, 0.005)
    v, _, est = verdict_of(df, effect(size=0.05, margin=0.01, direction=Direction.decrease))
    assert v is Verdict.CONFIRMED and est.mean > 0


def test_zero_value_on_log_scale_is_not_estimable():
    df = experiment(5, 0.0, 0.01)
    df.loc[0, "test_accuracy"] = 0.0
    v, label, est = verdict_of(df, effect(size=0.088, margin=0.02, scale=Scale.relative))
    assert (v, label) == (Verdict.INCONCLUSIVE, "not estimable")
    assert "positive" in est.decision.reason
