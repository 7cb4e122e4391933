"""Every claim kind: its spec example (tests/specs/) on synthetic runs with known effects."""

from pathlib import Path

import pytest
from synthetic import runs

from replication.analysis import evaluate_protocol
from replication.claimfile import load_claim
from replication.verdicts import Verdict

SPECS = Path(__file__).parent / "specs"


def verdict(spec: str, df, effect: str | None = None):
    claim = load_claim(SPECS / f"{spec}.yaml")
    res = evaluate_protocol(df, claim, "audit")
    r = res.results[effect or claim.effects[0].name]
    return r.decision.verdict, r.decision.label, r, res


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_spec_examples_load(path):
    assert load_claim(path).id == path.stem


# superiority ---------------------------------------------------------------


@pytest.mark.parametrize(
    "true_gain, expected",
    [
        (0.02, (Verdict.CONFIRMED, None)),
        (0.0, (Verdict.REFUTED, "no effect")),
        (-0.02, (Verdict.REFUTED, "reversed")),
        (0.01, (Verdict.REFUTED, "overstated")),
    ],
)
def test_superiority(true_gain, expected):
    df = runs({"t": {"test_accuracy": 0.7 + true_gain}, "b": {"test_accuracy": 0.7}}, noise=0.002)
    v, label, _, _ = verdict("spec-superiority", df)
    assert (v, label) == expected


def test_superiority_two_noisy_seeds_inconclusive():
    df = runs({"t": {"test_accuracy": 0.72}, "b": {"test_accuracy": 0.7}}, n=2, noise=0.05)
    claim = load_claim(SPECS / "spec-superiority.yaml")
    claim.protocols["audit"].sequential = None
    claim.protocols["audit"].seeds = [0, 1]
    r = evaluate_protocol(df, claim, "audit").results["gain"]
    assert r.decision.verdict is Verdict.INCONCLUSIVE and r.ci.method == "t"


# non-inferiority -----------------------------------------------------------


@pytest.mark.parametrize(
    "true_diff, expected",
    [
        (-0.001, (Verdict.CONFIRMED, None)),
        (-0.03, (Verdict.REFUTED, "worse than claimed")),
    ],
)
def test_non_inferiority(true_diff, expected):
    df = runs({"t": {"test_accuracy": 0.7 + true_diff}, "b": {"test_accuracy": 0.7}}, noise=0.002)
    v, label, r, _ = verdict("spec-non-inferiority", df)
    assert (v, label) == expected
    assert r.threshold == pytest.approx(-(0.002 + 0.005))


# compound ------------------------------------------------------------------


@pytest.mark.parametrize(
    "energy_t, acc_diff, expected",
    [
        (30.0, -0.001, (Verdict.CONFIRMED, None)),  # saves 70% energy, loses 0.1 points
        (30.0, -0.03, (Verdict.REFUTED, "part non_inferiority on test_accuracy")),
        (90.0, -0.001, (Verdict.REFUTED, "part superiority on energy_j")),  # saves only 10%
    ],
)
def test_compound_is_intersection_union(energy_t, acc_diff, expected):
    df = runs(
        {
            "t": {"energy_j": energy_t, "test_accuracy": 0.7 + acc_diff},
            "b": {"energy_j": 100.0, "test_accuracy": 0.7},
        },
        noise=0.002,
        multiplicative=("energy_j",),
    )
    v, label, r, _ = verdict("spec-compound", df)
    assert (v, label) == expected
    assert len(r.parts) == 2  # the report shows each part


# equivalence ---------------------------------------------------------------


@pytest.mark.parametrize(
    "loss_t, expected",
    [
        (1.000, (Verdict.CONFIRMED, "equivalent")),
        (1.10, (Verdict.REFUTED, "not equivalent")),
    ],
)
def test_equivalence_by_tost_on_log_ratio(loss_t, expected):
    df = runs(
        {"t": {"test_loss": loss_t}, "b": {"test_loss": 1.0}},
        noise=0.003,
        multiplicative=("test_loss",),
        params={"t": 8_800, "b": 10_000},
    )
    v, label, r, _ = verdict("spec-equivalence", df)
    assert (v, label) == expected
    if v is Verdict.CONFIRMED:
        assert r.p_confirm < 0.025  # statsmodels ttost_paired on log values


# ratio of costs ------------------------------------------------------------


def test_ratio_confirmed_and_shown_as_a_factor():
    df = runs(
        {"t": {"time_wall_s": 1.0 / 8.5}, "b": {"time_wall_s": 1.0}},
        noise=0.02,
        multiplicative=("time_wall_s",),
    )
    v, _, r, _ = verdict("spec-ratio", df)
    assert v is Verdict.CONFIRMED
    assert r.shown(r.mean) == pytest.approx(8.5, rel=0.03)


def test_ratio_overstated():
    df = runs(
        {"t": {"time_wall_s": 0.5}, "b": {"time_wall_s": 1.0}},
        noise=0.02,
        multiplicative=("time_wall_s",),
    )
    assert verdict("spec-ratio", df)[:2] == (Verdict.REFUTED, "overstated")


# frontier ------------------------------------------------------------------

PARAMS = {"r1": 66_000, "r4_3": 88_000, "r2": 132_000, "r4": 263_000}


def frontier_runs(losses):
    return runs(
        {a: {"test_loss": v} for a, v in losses.items()},
        noise=0.001,
        level=0.002,
        multiplicative=("test_loss",),
        params=PARAMS,
    )


def test_frontier_candidate_on_the_front():
    df = frontier_runs({"r1": 1.00, "r4_3": 0.95, "r2": 0.90, "r4": 0.89})
    v, label, r, _ = verdict("spec-frontier", df, "pareto")
    assert (v, label) == (Verdict.CONFIRMED, "on the front")
    assert r.secondary["point_front"] == ["r1", "r4_3", "r2", "r4"]


def test_frontier_candidate_dominated_like_hen1():
    # hen1: the 1x FFN has fewer parameters AND lower loss than 4/3x
    df = frontier_runs({"r1": 0.055, "r4_3": 0.082, "r2": 0.054, "r4": 0.078})
    v, label, r, _ = verdict("spec-frontier", df, "pareto")
    assert (v, label) == (Verdict.REFUTED, "dominated")
    assert "r1" in r.decision.reason


def test_frontier_scalar_best():
    df = frontier_runs({"r1": 1.00, "r4_3": 0.70, "r2": 0.69, "r4": 0.68})
    assert verdict("spec-frontier", df, "best_scalar")[:2] == (Verdict.CONFIRMED, "best")
    df = frontier_runs({"r1": 0.80, "r4_3": 0.70, "r2": 0.69, "r4": 0.68})  # r1: 52.8 < 61.6
    assert verdict("spec-frontier", df, "best_scalar")[:2] == (Verdict.REFUTED, "not the best")


# unauditable ---------------------------------------------------------------


def test_parity_failure_is_unauditable_and_names_the_rule():
    df = runs(
        {"t": {"test_accuracy": 0.75}, "b": {"test_accuracy": 0.7}},
        params={"t": 12_000, "b": 10_000},
    )
    v, label, r, _ = verdict("spec-unauditable", df)
    assert (v, label) == (Verdict.UNAUDITABLE, "parity")
    assert "params differ" in r.decision.reason and "20.0% apart" in r.decision.reason


def test_missing_measurement_is_unauditable():
    df = runs({"t": {"val_accuracy": 0.75}, "b": {"val_accuracy": 0.7}})
    v, _, r, _ = verdict("spec-superiority", df)
    assert v is Verdict.UNAUDITABLE
    assert "required measurement 'test_accuracy' missing" in r.decision.reason


def test_unequal_tuning_budget_is_unauditable():
    df = runs({"t": {"test_accuracy": 0.75}, "b": {"test_accuracy": 0.7}})
    tune = df.head(3).assign(stage="tune", arm="t", trial="optim.lr=0.01")
    claim = load_claim(SPECS / "spec-superiority.yaml")
    import pandas as pd

    res = evaluate_protocol(pd.concat([df, tune]), claim, "audit")
    assert "tuning budgets differ" in res.results["gain"].decision.reason
