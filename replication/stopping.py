"""When to end training: stopping rules over the per-epoch curve, and what a record says.

The rules are pure functions of a metric's per-epoch values (index 0 = epoch 1):
- plateau_start: the authors' post-hoc rule (H-SEDI-EE-1). With tau and a window w = 3, the
  first 0-based i >= w with |v[j] - v[j-1]| < tau for the w steps j = i-w+1 .. i; it reports
  the 1-based epoch i - w + 1, the START of the stable stretch, which is known only w epochs
  later.
- plateau_end: the same condition read online: the epoch (i + 1, = start + w) at which a
  rule that watches the curve can first stop.
- patience_stop: the first epoch after `patience` epochs without a new best value.

A StopRule (conf/stop/<name>.yaml, the `stop` node a claim adds with `+stop=<name>`) names
one of: none (the full schedule), plateau (online, on any curve metric: val_entropy,
val_accuracy...), patience (online), posthoc (the authors': train the full schedule, then
report where the plateau of test_entropy started). Online rules stop the model where it is:
no weights are restored, so the final metrics are the stopped model's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from replication.metrics import METRICS

RULES = ("none", "plateau", "patience", "posthoc")
ONLINE = ("plateau", "patience")
ACCURACY = "test_accuracy"  # what accuracy_at_stop and accuracy_drop read


def _stable(values: Sequence[float], i: int, threshold: float, window: int) -> bool:
    return all(abs(values[j] - values[j - 1]) < threshold for j in range(i - window + 1, i + 1))


def _first_stable(values: Sequence[float], threshold: float, window: int) -> int | None:
    if window < 1 or threshold <= 0:
        raise ValueError(f"need window >= 1 and threshold > 0, got {window}, {threshold}")
    return next(
        (i for i in range(window, len(values)) if _stable(values, i, threshold, window)), None
    )


def plateau_start(values: Sequence[float], threshold: float, window: int = 3) -> int | None:
    """The authors' post-hoc stop epoch (1-based): where the first stable stretch starts."""
    i = _first_stable(values, threshold, window)
    return None if i is None else i - window + 1


def plateau_end(values: Sequence[float], threshold: float, window: int = 3) -> int | None:
    """The 1-based epoch at which an online plateau rule first stops (plateau_start + window)."""
    i = _first_stable(values, threshold, window)
    return None if i is None else i + 1


def patience_stop(
    values: Sequence[float], patience: int, higher_is_better: bool = False
) -> int | None:
    """The first 1-based epoch that ends `patience` epochs without a strictly better value."""
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    best, best_at = None, 0
    for epoch, v in enumerate(values, start=1):
        if best is None or (v > best if higher_is_better else v < best):
            best, best_at = v, epoch
        elif epoch - best_at >= patience:
            return epoch
    return None


def epoch_values(curve: Sequence[Mapping], metric: str) -> list[float]:
    """`metric` at each evaluation after step 0: one per epoch when eval_every is an epoch
    (a budget's step cap can make the last one partial)."""
    points = [p for p in curve if p["step"] > 0]
    if points and metric not in points[0]:
        have = ", ".join(sorted(k for k in points[0] if k != "step"))
        raise ValueError(f"stop.metric {metric!r} is not in the curve (it has: {have})")
    return [float(p[metric]) for p in points]


@dataclass(frozen=True)
class StopRule:
    rule: str = "none"
    epochs: int = 30  # the full schedule
    metric: str | None = None  # the curve key a rule watches, e.g. val_entropy
    threshold: float | None = None  # plateau, posthoc: |change| per epoch below this
    window: int = 3  # plateau, posthoc: that many consecutive changes
    patience: int | None = None  # patience: epochs without a new best
    report_thresholds: tuple[float, ...] = ()  # posthoc: plateau_table's rows

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"stop.rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if self.epochs < 1:
            raise ValueError(f"stop.epochs must be >= 1, got {self.epochs}")
        if self.rule != "none" and not self.metric:
            raise ValueError(f"stop.rule {self.rule} needs stop.metric")
        if self.rule in ("plateau", "posthoc") and not (self.threshold or 0) > 0:
            raise ValueError(f"stop.rule {self.rule} needs stop.threshold > 0")
        if self.rule == "patience" and not (self.patience or 0) >= 1:
            raise ValueError("stop.rule patience needs stop.patience >= 1")

    @classmethod
    def from_config(cls, node: Mapping) -> StopRule:
        """From the composed `stop` node; epochs may arrive as a float from a tuning grid."""
        d = dict(node)
        epochs = float(d.pop("epochs", 30))
        if epochs != int(epochs):
            raise ValueError(f"stop.epochs must be a whole number, got {epochs}")
        d["report_thresholds"] = tuple(float(t) for t in d.get("report_thresholds") or ())
        try:
            return cls(epochs=int(epochs), **d)
        except TypeError as err:  # an unknown key
            raise ValueError(f"stop: {err}") from None

    def stops(self, values: Sequence[float]) -> int | None:
        """The 1-based epoch at which this online rule stops on these values, if it does."""
        if self.rule == "plateau":
            return plateau_end(values, self.threshold, self.window)
        if self.rule == "patience":
            higher = self.metric in METRICS and METRICS[self.metric].higher_is_better
            return patience_stop(values, self.patience, higher_is_better=higher)
        return None

    def stopper(self) -> Callable[[list[dict]], str | None] | None:
        """What train.fit calls after each evaluation: a reason to stop now, or None.
        None for rules that never stop a run (none, posthoc)."""
        if self.rule not in ONLINE:
            return None

        def check(curve: list[dict]) -> str | None:
            values = epoch_values(curve, self.metric)
            if self.stops(values) is not None:  # fit stops at the first epoch it holds
                return f"{self.rule} on {self.metric}"
            return None

        return check


def _at(values: Sequence[float], epoch: int) -> float:
    return values[epoch - 1]


def posthoc_row(curve: Sequence[Mapping], metric: str, threshold: float, window: int) -> dict:
    """The authors' numbers for one threshold: stop epoch (the schedule's end if no
    plateau), share of epochs saved, test accuracy there and its drop from the last epoch."""
    values, acc = epoch_values(curve, metric), epoch_values(curve, ACCURACY)
    n = len(values)
    stop = plateau_start(values, threshold, window) or n
    return {
        "stop_epoch": stop,
        "epochs_saved_frac": (n - stop) / n,
        "accuracy_at_stop": _at(acc, stop),
        "accuracy_drop": acc[-1] - _at(acc, stop),
    }


def summary(curve: Sequence[Mapping], rule: StopRule, steps_per_epoch: int) -> dict:
    """The record's stopping metrics. Online rules and none: where training ended (saved =
    share of the schedule not trained; accuracy_at_stop is the final model's). posthoc: the
    authors' plateau start on rule.metric, read off a full run."""
    points = [p for p in curve if p["step"] > 0]
    if not points:
        return {}
    out = {"epochs_trained": points[-1]["step"] / steps_per_epoch}
    if rule.rule == "posthoc":
        return out | posthoc_row(curve, rule.metric, rule.threshold, rule.window)
    trained = len(points)
    return out | {
        "stop_epoch": trained,
        "epochs_saved_frac": max(rule.epochs - trained, 0) / rule.epochs,
        "accuracy_at_stop": float(points[-1][ACCURACY]),
    }


def plateau_table(curve: Sequence[Mapping], rule: StopRule) -> list[dict]:
    """posthoc: one posthoc_row per report threshold (the authors' table), for the extras."""
    if rule.rule != "posthoc" or not any(p["step"] > 0 for p in curve):
        return []
    return [
        {"threshold": t} | posthoc_row(curve, rule.metric, t, rule.window)
        for t in rule.report_thresholds
    ]


def energy_at_stop(energy: Mapping, metrics: Mapping) -> float | None:
    """The run's measured joules pro rata up to stop_epoch (every epoch costs the same on a
    fixed model and batch size); None when the run's energy was not measured."""
    joules, trained = energy.get("joules"), metrics.get("epochs_trained")
    if joules is None or not trained or "stop_epoch" not in metrics:
        return None
    return float(joules) * min(metrics["stop_epoch"], trained) / trained
