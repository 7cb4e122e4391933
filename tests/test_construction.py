"""Counts are arithmetic, not experiments; a side may be judged at its best implementation."""

import math

import numpy as np
import pandas as pd
import pytest

from replication.analysis import Design, best_implementation, judge_pairs
from replication.claims import Comparison, Direction, Effect, Kind, Scale
from replication.verdicts import Verdict

DESIGN = Design([5, 10], 0.05, 0.8)


def _pairs(t, b) -> pd.DataFrame:
    n = len(t)
    return pd.DataFrame({"seed": range(n), "treatment": t, "baseline": b})


@pytest.mark.parametrize("size, expected", [(0.5, Verdict.HOLDS), (0.9, Verdict.FAILS)])
def test_a_constant_per_seed_count_is_decided_by_construction(size, expected):
    c = Comparison(Kind.superiority, "flops_per_example", "t", "b", Direction.decrease,
                   Scale.relative, size=size, margin=0.01)  # fmt: skip
    r = judge_pairs(_pairs([4.0] * 5, [14.0] * 5), c, "x", ("k",), DESIGN)
    assert r.decision.verdict is expected and r.by_construction
    assert r.ci is None and math.isnan(r.p_confirm) and math.isnan(r.p_refute)
    assert "in all 5 seeds" in r.decision.reason


def test_a_count_that_varies_by_seed_gets_an_interval():
    c = Comparison(Kind.superiority, "flops_per_example", "t", "b", Direction.decrease,
                   Scale.relative, size=0.5, margin=0.01)  # fmt: skip
    r = judge_pairs(_pairs([4.0, 4.0, 4.1, 4.0, 4.0], [14.0] * 5), c, "x", ("k",), DESIGN)
    assert not r.by_construction and r.ci is not None


def test_one_seed_is_never_called_a_construction():
    c = Comparison(Kind.superiority, "test_loss", "t", "b", Direction.decrease,
                   Scale.relative, size=0.5, margin=0.01)  # fmt: skip
    r = judge_pairs(_pairs([1.0], [2.0]), c, "x", ("k",), DESIGN)
    assert not r.by_construction


def test_each_side_is_judged_at_its_best_implementation():
    rng = np.random.default_rng(0)
    means = {"t_eager": 1.0, "t_compiled": 0.5, "b_eager": 2.0, "b_compiled": 3.0}
    df = pd.DataFrame(
        [
            {"arm": a, "seed": s, "stage": "eval", "status": "complete",
             "kernel_time_s": m * (1 + 0.01 * rng.standard_normal())}
            for a, m in means.items()
            for s in range(5)
        ]
    )  # fmt: skip
    e = Effect(Kind.superiority, "kernel_time_s", "t_eager", "b_eager", Direction.decrease,
               Scale.ratio, size=2.0, margin=0.02, name="x",
               best_of={"t_eager": ["t_compiled"], "b_eager": ["b_compiled"]})  # fmt: skip
    best = best_implementation(df, e)
    assert (best.treatment, best.baseline) == ("t_compiled", "b_eager")
