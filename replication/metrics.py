"""The metrics a run record may carry, so a claim can only name one that some task produces.

Tasks write these names into `record.metrics`; the claim schema rejects any other name, which
turns a typo in a claim file into an error instead of an empty comparison. `unit` decides how
reports show values ("fraction": values as %, differences as points; "count": integers
with separators).
"""

from dataclasses import dataclass

FRACTION = "fraction"
COUNT = "count"


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    description: str
    unit: str = ""
    energy: bool = False  # judged with the margin its measurement method allows (docs/energy.md)
    pooled_from: str | None = None  # a record extra whose per-seed vectors, averaged over
    # seeds, give the authors' pooled statistic (reports show it beside the per-run values)


_ALL = [
    # held-out quality (every training task writes <split>_<metric> for val and test)
    Metric("test_accuracy", True, "accuracy on the test split after the last step", FRACTION),
    Metric("val_accuracy", True, "accuracy on the validation split after the last step", FRACTION),
    Metric("test_loss", False, "mean cross-entropy on the test split after the last step"),
    Metric("val_loss", False, "mean cross-entropy on the validation split after the last step"),
    Metric("test_bpc", False, "test cross-entropy in bits per character"),
    Metric("val_bpc", False, "validation cross-entropy in bits per character"),
    # what the authors measured
    Metric("train_loss_tail", False, "mean of the last train.tail minibatch training losses"),
    Metric("train_loss_final", False, "training loss of the last step, before its update"),
    Metric(
        "authors_eval_loss",
        False,
        "the authors' eval loss: random windows of the training "
        "text after training, in eval mode (Mertens' script)",
    ),
    # properties of a task or a model
    Metric(
        "test_ceiling",
        True,
        "share of test rows whose class occurs in the training split (best attainable accuracy)",
        FRACTION,
    ),
    Metric("bayes_loss", False, "the lowest expected loss the task allows (pattern task)"),
    Metric(
        "gate_sparsity_train",
        True,
        "share of exactly-zero FFN activations (after the gate, if any), train mode",
        FRACTION,
    ),
    Metric(
        "gate_sparsity_eval",
        True,
        "share of exactly-zero FFN activations (after the gate, "
        "if any), eval mode: what is sparse at inference",
        FRACTION,
    ),
    Metric(
        "routing_entropy",
        True,
        "entropy of the test-mean routing weights / ln(n_experts) (the authors' statistic)",
        pooled_from="routing_mean_weights",
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
    Metric(
        "expert_load_max",
        False,
        "MoE: largest share of token slots any expert gets, x n_experts (1 = balanced), test "
        "windows, eval mode, worst layer",
    ),
    Metric(
        "expert_load_entropy",
        True,
        "MoE: entropy of the share of token slots per expert / ln(n_experts), mean over layers",
    ),
    # cost (from the record's accounting, timing and energy)
    Metric("params", False, "total parameters of the model", COUNT),
    Metric("ffn_params", False, "parameters of the FFN layers (weights and biases)", COUNT),
    Metric("attention_params", False, "parameters of the attention layers", COUNT),
    Metric(
        "active_ffn_params",
        False,
        "FFN weights one token uses (an MoE: top-k experts' matrices and the gate; no biases)",
        COUNT,
    ),
    Metric("flops_per_example", False, "forward FLOPs per example, matrix products only", COUNT),
    Metric(
        "attention_flops",
        False,
        "forward matmul FLOPs per example of the attention blocks, projections included "
        "(hand count, models/attention.py; checked against torch's counter in a test)",
        COUNT,
    ),
    Metric(
        "act_ops_per_example",
        False,
        "activation operations per example: elements x the "
        "authors' ops per element (models/activations.py OPS_PER_ELEMENT)",
        COUNT,
    ),
    Metric(
        "flops_with_act_per_example",
        False,
        "forward matrix-product FLOPs per example plus the activation's operations",
        COUNT,
    ),
    Metric("time_wall_s", False, "wall-clock seconds of the training loop"),
    # energy (replication/energy.py): gross = what the device drew; net = minus idle power
    Metric("energy_j", False, "energy of the measured windows, gross joules", energy=True),
    Metric("energy_net_j", False, "energy_j minus idle power x window time", energy=True),
    Metric("energy_per_step_j", False, "gross joules per training step", energy=True),
    Metric("energy_net_per_step_j", False, "idle-subtracted joules per step", energy=True),
    Metric("energy_per_example_j", False, "gross joules per training example", energy=True),
    # timings (replication/tasks/bench.py)
    Metric("kernel_time_s", False, "median seconds per call of a timed kernel"),
    Metric("kernel_bandwidth_gbs", True, "ideal bytes moved per call / kernel_time_s, GB/s"),
    Metric("copy_bandwidth_gbs", True, "bytes read + written by a copy of the input / its time"),
    Metric("bandwidth_vs_copy", True, "kernel_bandwidth_gbs / copy_bandwidth_gbs", FRACTION),
    Metric("step_time_s", False, "median seconds per training step (forward, backward, Adam)"),
    # CLSO's search and its baseline (replication/tasks/clso.py)
    Metric("method_time_s", False, "wall-clock seconds of the search or of the training loop"),
    Metric(
        "energy_per_eval_j",
        False,
        "gross joules of the search window per real evaluation (search methods)",
        energy=True,
    ),
    Metric(
        "reported_loss",
        False,
        "the loss the method's script reports: the search's reported best (the best real "
        "fitness for random search), the baseline's loss on its evaluation rows",
    ),
    Metric("initial_loss", False, "real fitness of the first random genome (the source's log)"),
    Metric(
        "reported_best_loss",
        False,
        "the source's 'best loss': the minimum of the fitness lists, real and surrogate mixed",
    ),
    Metric("reported_best_gen", False, "generation in which reported_best_loss was found", COUNT),
    Metric("reverified_loss", False, "real fitness of the genome behind reported_best_loss"),
    Metric("best_real_fitness", False, "lowest real fitness of any evaluated genome"),
    Metric("real_evals", False, "fitness evaluations by a real forward pass", COUNT),
    Metric("predicted_evals", False, "fitness values the surrogate predicted instead", COUNT),
    Metric(
        "best_regressions",
        False,
        "generations whose reported best is above the previous generation's",
        COUNT,
    ),
    Metric("optimizer_steps", False, "gradient steps taken (adam)", COUNT),
    Metric("pad_share", False, "share of the scored validation tokens that are padding", FRACTION),
    # early stopping (replication/stopping.py; image tasks write <split>_entropy)
    Metric("test_entropy", False, "mean softmax entropy (nats) of the test predictions, eval mode"),
    Metric("val_entropy", False, "mean softmax entropy (nats) of the validation predictions"),
    Metric(
        "stop_epoch",
        False,
        "epoch at which training stopped (posthoc: where the authors' test-entropy plateau "
        "starts, read off the full run)",
        COUNT,
    ),
    Metric("epochs_trained", False, "epochs the training loop ran (steps / steps per epoch)"),
    Metric(
        "epochs_saved_frac",
        True,
        "share of the full schedule's epochs not trained, (epochs - stop_epoch) / epochs "
        "(the authors' 'energy saved')",
        FRACTION,
    ),
    Metric("accuracy_at_stop", True, "test accuracy at stop_epoch", FRACTION),
    Metric(
        "energy_at_stop_j",
        False,
        "energy_j x stop_epoch / epochs_trained: the measured energy of the epochs up to "
        "stop_epoch (posthoc: what stopping there would have cost; online rules: energy_j)",
        energy=True,
    ),
    Metric(
        "accuracy_drop",
        False,
        "test accuracy after the last epoch minus at stop_epoch (posthoc only)",
        FRACTION,
    ),
]

METRICS: dict[str, Metric] = {m.name: m for m in _ALL}


def is_energy(name: str | None) -> bool:
    return name in METRICS and METRICS[name].energy


def is_fraction(name: str | None) -> bool:
    return name in METRICS and METRICS[name].unit == FRACTION


def is_count(name: str | None) -> bool:
    return name in METRICS and METRICS[name].unit == COUNT
