"""The metrics a run record may carry, so a claim can only name one that some task produces.

Tasks write these names into `record.metrics.final`; the claim schema rejects any other name,
which turns a typo in a claim file into an error instead of an empty comparison.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    description: str


_ALL = [
    Metric("test_accuracy", True, "accuracy on the test split after the last step"),
    Metric("test_loss", False, "mean cross-entropy on the test split after the last step"),
    Metric("val_accuracy", True, "accuracy on the validation split after the last step"),
    Metric("val_loss", False, "mean cross-entropy on the validation split after the last step"),
    Metric("train_loss_last50", False, "mean of the last 50 training minibatch losses"),
    Metric(
        "test_ceiling",
        True,
        "share of test rows whose class occurs in the training split (best attainable accuracy)",
    ),
    Metric("time_wall_s", False, "wall-clock seconds of the training loop"),
    Metric(
        "energy_j",
        False,
        "energy of the training loop, joules (the record says measured or estimated)",
    ),
    Metric("params", False, "total parameters of the model (from the record's accounting)"),
    Metric(
        "flops_per_example",
        False,
        "forward FLOPs per example, matrix products only (from the record's accounting)",
    ),
    Metric(
        "routing_entropy",
        True,
        "entropy of the test-mean routing weights / ln(n_experts) (the authors' statistic)",
    ),
    Metric(
        "routing_sample_entropy",
        True,
        "mean over test rows of each row's routing-weight entropy, divided by ln(n_experts)",
    ),
    Metric(
        "routing_load_entropy",
        True,
        "entropy of the share of test rows whose top-weighted expert is each expert, / ln(n)",
    ),
]

METRICS: dict[str, Metric] = {m.name: m for m in _ALL}


def known_metric(name: str) -> bool:
    return name in METRICS
