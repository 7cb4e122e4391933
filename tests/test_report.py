"""Report helpers that decide what a reviewer is warned about."""

from types import SimpleNamespace

from replication.report import fmt
from replication.report.sections import at_grid_edge


def _res(values, chosen):
    tuning = SimpleNamespace(values=values)
    proto = SimpleNamespace(tuning=tuning)
    return SimpleNamespace(claim=SimpleNamespace(protocols={"audit": proto}), tuned=chosen)


def test_choices_at_either_end_of_the_grid_are_flagged():
    res = _res(
        [0.01, 0.1, 1.0],
        {"audit": {"a": "optim.lr=1.0", "b": "optim.lr=0.1", "c": "optim.lr=0.01"}},
    )
    assert at_grid_edge(res, "audit") == ["a (1)", "c (0.01)"]


def test_a_lower_edge_of_zero_is_a_bound_not_a_warning():
    res = _res([0.0, 0.1, 0.5], {"audit": {"a": "model.dropout=0.0", "b": "model.dropout=0.5"}})
    assert at_grid_edge(res, "audit") == ["b (0.5)"]


def test_non_numeric_or_short_grids_are_not_flagged():
    assert at_grid_edge(_res(["x", "y", "z"], {"audit": {"a": "p=x"}}), "audit") == []
    assert at_grid_edge(_res([0.1, 1.0], {"audit": {"a": "optim.lr=1.0"}}), "audit") == []


def test_small_timings_keep_their_digits_and_counts_their_separators():
    assert fmt.value(4.823e-05, "kernel_time_s") == "4.823e-05"
    assert fmt.value(0.5, "kernel_time_s") == "0.5000"
    assert fmt.value(458752.0, "act_ops_per_example") == "458,752"
