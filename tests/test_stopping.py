"""Stopping rules (replication/stopping.py) and the stopper hook of train.fit."""

import random

import pytest
import torch

from replication.models.twin_mlp import TwinMLP
from replication.stopping import (
    StopRule,
    epoch_values,
    patience_stop,
    plateau_end,
    plateau_start,
    plateau_table,
    summary,
)
from replication.tasks.images import ImageTask
from replication.train import Splits, fit


def authors_rule(h: list[float], tau: float) -> int | None:
    """The authors' post-hoc loop, transcribed: 1-based start of the first stable stretch."""
    for i in range(3, len(h)):
        if all(abs(h[j] - h[j - 1]) < tau for j in range(i - 2, i + 1)):
            return i - 2
    return None


def test_plateau_start_is_the_start_and_plateau_end_is_where_an_online_rule_stops():
    # changes: 1.0, 0.5, 0.2, then three of 0.001 (epochs 5, 6, 7), then 0.097
    h = [2.0, 1.0, 0.5, 0.3, 0.299, 0.298, 0.297, 0.2]
    assert plateau_start(h, 0.005) == 4  # epoch 4 (0.3) starts the stable stretch
    assert plateau_end(h, 0.005) == 7  # known only after epoch 7: start + window
    assert plateau_start(h, 0.3) == 3  # changes 0.2, 0.001, 0.001 end at epoch 6
    assert plateau_end(h, 0.3) == 6


def test_plateau_needs_strictly_smaller_changes_and_enough_epochs():
    assert plateau_start([1.0, 1.0, 1.0, 1.0], 0.01) == 1
    assert plateau_start([1.0, 1.0, 1.0], 0.01) is None  # only two changes
    assert plateau_start([0.0, 0.5, 1.0, 1.5, 2.0], 0.5) is None  # |change| == tau is not <
    assert plateau_start([3.0 - 0.1 * k for k in range(30)], 0.05) is None  # no plateau
    assert plateau_start([1.0] * 6, 0.01, window=5) == 1
    assert plateau_end([1.0] * 6, 0.01, window=5) == 6


def test_plateau_start_matches_the_authors_loop_on_random_curves():
    rng = random.Random(0)
    for _ in range(500):
        steps = [
            rng.choice([-1, 1]) * rng.choice([0.0, 0.003, 0.008, 0.015, 0.04]) for _ in range(30)
        ]
        h = [1.0 + sum(steps[: k + 1]) for k in range(30)]
        for tau in (0.005, 0.01, 0.02, 0.05):
            assert plateau_start(h, tau) == authors_rule(h, tau)


def test_patience_counts_epochs_without_a_strictly_better_value():
    assert patience_stop([1.0, 0.9, 0.95, 0.92, 0.91], 3) == 5  # best at 2, then 3 worse
    assert patience_stop([1.0, 1.0, 1.0, 1.0], 3) == 4  # ties are not improvements
    assert patience_stop([1.0, 0.9, 0.8, 0.7], 1) is None
    assert patience_stop([0.5, 0.6, 0.55, 0.58], 2, higher_is_better=True) == 4
    with pytest.raises(ValueError, match="patience"):
        patience_stop([1.0], 0)


def _curve(metric: dict[str, list[float]], per_epoch: int = 10) -> list[dict]:
    n = len(next(iter(metric.values())))
    points = [{"step": 0} | {k: 9.9 for k in metric}]
    return points + [
        {"step": per_epoch * (e + 1)} | {k: v[e] for k, v in metric.items()} for e in range(n)
    ]


def test_posthoc_summary_gives_the_authors_numbers():
    # a test-entropy plateau starting at epoch 10 of 30: the authors' tau = 0.005 row
    h = [1.0 - 0.05 * e for e in range(10)] + [0.55 - 0.001 * e for e in range(20)]
    acc = [0.90 + 0.002 * e for e in range(30)]
    curve = _curve({"test_entropy": h, "test_accuracy": acc})
    rule = StopRule("posthoc", 30, "test_entropy", 0.005, report_thresholds=(0.005, 0.0001))
    out = summary(curve, rule, steps_per_epoch=10)
    assert out["stop_epoch"] == 10 and out["epochs_trained"] == 30
    assert out["epochs_saved_frac"] == pytest.approx(20 / 30)
    assert out["accuracy_at_stop"] == pytest.approx(acc[9])
    assert out["accuracy_drop"] == pytest.approx(acc[29] - acc[9])
    table = plateau_table(curve, rule)
    assert [r["stop_epoch"] for r in table] == [10, 30]  # no plateau: stop = 30, none saved
    assert table[1]["epochs_saved_frac"] == 0 and table[1]["accuracy_drop"] == 0


def test_online_summary_is_where_training_ended():
    curve = _curve({"val_entropy": [1.0] * 12, "test_accuracy": [0.5] * 11 + [0.7]})
    out = summary(curve, StopRule("plateau", 30, "val_entropy", 0.01), steps_per_epoch=10)
    assert out == {
        "epochs_trained": 12,
        "stop_epoch": 12,
        "epochs_saved_frac": pytest.approx(18 / 30),
        "accuracy_at_stop": 0.7,
    }


def test_stopper_fires_once_the_condition_first_holds():
    check = StopRule("plateau", 30, "val_entropy", 0.01).stopper()
    h = [1.0, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3]
    fired = [check(_curve({"val_entropy": h[:n]})) for n in range(1, len(h) + 1)]
    assert [f is not None for f in fired] == [False] * 5 + [True, True]
    assert StopRule("posthoc", 30, "test_entropy", 0.01).stopper() is None
    assert StopRule("none").stopper() is None


def test_rules_reject_what_they_cannot_run():
    for bad in (
        {"rule": "early"},
        {"rule": "plateau", "metric": "val_entropy"},  # no threshold
        {"rule": "patience", "metric": "val_loss"},  # no patience
        {"rule": "none", "epochs": 10.5},
        {"rule": "none", "epoch": 10},  # a typo
    ):
        with pytest.raises(ValueError, match="stop"):
            StopRule.from_config(bad)
    assert StopRule.from_config({"rule": "none", "epochs": 12.0}).epochs == 12
    with pytest.raises(ValueError, match="val_entropy"):
        epoch_values([{"step": 0}, {"step": 1, "test_loss": 1.0}], "val_entropy")


@pytest.fixture(scope="module")
def tiny():
    """256 training and 200 test rows of MNIST-5k: 4 batches of 64 per epoch."""
    full = ImageTask(dataset="mnist5k").load(0)
    x, y = full.train
    keep = torch.arange(0, len(y), len(y) // 256)[:256]
    return Splits(train=(x[keep], y[keep]), test=(full.test[0][:200], full.test[1][:200]))


def _fit(splits, epochs, stopper=None):
    task = ImageTask(dataset="mnist5k")
    torch.manual_seed(3)
    model = TwinMLP()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    per_epoch = task.steps_per_epoch(splits, 64)
    result = fit(
        model,
        opt,
        task,
        splits,
        steps=epochs * per_epoch,
        batch_size=64,
        eval_every=per_epoch,
        generator=torch.Generator().manual_seed(1),
        stopper=stopper,
    )
    return result, model


def test_fit_with_an_online_stopper_stops_where_the_full_curve_says(tiny):
    full, full_model = _fit(tiny, 30)
    again, again_model = _fit(tiny, 30, stopper=lambda curve: None)  # a hook that never fires
    assert again.curve == full.curve and again.stopped_at is None
    assert all(
        torch.equal(a, b)
        for a, b in zip(full_model.parameters(), again_model.parameters(), strict=True)
    )
    h = epoch_values(full.curve, "test_entropy")
    tau = 1.01 * max(abs(h[j] - h[j - 1]) for j in range(10, 13))  # a plateau by epoch 13
    end = plateau_end(h, tau)
    assert end is not None and end <= 13
    rule = StopRule("plateau", 30, "test_entropy", tau)
    stopped, _ = _fit(tiny, 30, stopper=rule.stopper())
    assert stopped.stopped_at == end * 4 and stopped.stop_reason == "plateau on test_entropy"
    assert stopped.curve == full.curve[: end + 1]  # the same run, cut short
    assert summary(stopped.curve, rule, 4)["epochs_saved_frac"] == pytest.approx((30 - end) / 30)


def test_energy_at_stop_is_pro_rata_and_none_when_unmeasured():
    from replication.stopping import energy_at_stop

    assert energy_at_stop({"joules": 30.0}, {"stop_epoch": 10, "epochs_trained": 30.0}) == 10.0
    assert energy_at_stop({"joules": 12.0}, {"stop_epoch": 4, "epochs_trained": 4.0}) == 12.0
    assert energy_at_stop({"joules": None}, {"stop_epoch": 4, "epochs_trained": 4.0}) is None
    assert energy_at_stop({"joules": 5.0}, {"epochs_trained": 4.0}) is None
