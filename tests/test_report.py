"""Report helpers that decide what a reviewer is warned about."""

from replication.report import fmt
from replication.tuning import grid_edges, trial_value


def test_choices_at_either_end_of_the_grid_are_flagged():
    chosen = {"a": "optim.lr=1.0", "b": "optim.lr=0.1", "c": "optim.lr=0.01"}
    assert grid_edges([0.01, 0.1, 1.0], chosen) == ["a (1)", "c (0.01)"]


def test_a_lower_edge_of_zero_is_a_bound_not_a_warning():
    chosen = {"a": "model.dropout=0.0", "b": "model.dropout=0.5"}
    assert grid_edges([0.0, 0.1, 0.5], chosen) == ["b (0.5)"]


def test_non_numeric_or_short_grids_are_not_flagged():
    assert grid_edges(["x", "y", "z"], {"a": "p=x"}) == []
    assert grid_edges([0.1, 1.0], {"a": "optim.lr=1.0"}) == []


def test_a_trial_value_is_everything_after_the_first_equals_sign():
    assert trial_value("optim.lr=0.1") == "0.1"
    assert trial_value("model.act=a=b") == "a=b"


def test_small_timings_keep_their_digits_and_counts_their_separators():
    assert fmt.value(4.823e-05, "kernel_time_s") == "4.823e-05"
    assert fmt.value(0.5, "kernel_time_s") == "0.5000"
    assert fmt.value(458752.0, "act_ops_per_example") == "458,752"


def test_a_table_of_dict_rows_leaves_missing_cells_empty_and_escapes_pipes():
    lines = fmt.table_of({"a": "A", "b": "B"}, [{"a": "x|y"}, {"b": 2}])
    assert lines == ["| A | B |", "|---|---|", "| x\\|y |  |", "|  | 2 |"]


def test_data_lines_give_each_dataset_once_with_every_protocols_splits():
    from types import SimpleNamespace

    from replication.report.verdict import data_lines

    mnist = {"name": "m", "source": "s", "license": "L", "sha256": "ab" * 32}
    data = {
        "faithful": {**mnist, "n_train": 4000, "n_test": 1000},
        "audit": {**mnist, "n_train": 3200, "n_val": 800, "n_test": 1000},
        "gpu": {"name": "f", "n_train": 5},
    }
    claim = SimpleNamespace(protocols={"faithful": 0, "audit": 0, "gpu": 0, "other": 0})
    lines = data_lines(SimpleNamespace(claim=claim, data=data))
    assert len(lines) == 2
    assert lines[0].startswith("- **Data, m:** source s; license L; sha256 `abababab")
    assert lines[0].endswith("faithful 4,000/0/1,000; audit 3,200/800/1,000")
    assert lines[1].endswith("gpu 5/0/0")
