"""The plan: which runs a claim expands to, in which order, with which overrides."""

import pandas as pd
from conftest import CLAIMS

from replication.claims import load_claim
from replication.sweep import Budget, eval_jobs, run_claim, select_tuned, tune_jobs

CLAIM = load_claim(CLAIMS / "h-ee-18.yaml")


def test_eval_jobs_cover_every_arm_and_seed_with_identity_last():
    jobs = eval_jobs(CLAIM, "faithful", Budget())
    proto = CLAIM.protocols["faithful"]
    assert len(jobs) == len(proto.arms) * len(proto.seeds)
    assert {(j.arm, j.seed) for j in jobs} == {(a, s) for a in proto.arms for s in proto.seeds}
    job = next(j for j in jobs if j.arm == "egyptian" and j.seed == 42)
    ovs = job.overrides(["train.steps=7"])
    assert ovs.index("model/router=egyptian") < ovs.index("train.steps=7") < ovs.index("seed=42")
    assert "task.split=class_ordered" in ovs and "launched_by=claim_sweeper" in ovs
    assert job.run_id == "faithful/egyptian/seed=42"


def test_budget_caps_seeds_and_tuning():
    smoke = Budget(name="smoke", max_seeds=2, max_tune_values=2, max_tune_seeds=1)
    assert len(eval_jobs(CLAIM, "audit", smoke)) == 2 * len(CLAIM.protocols["audit"].arms)
    tj = tune_jobs(CLAIM, "audit", smoke)
    assert len(tj) == len(CLAIM.protocols["audit"].arms) * 2 * 1
    assert tj[0].run_id.startswith("audit/equal/tune/optim.lr=0.001/seed=")


def test_select_tuned_best_mean_ties_first_diverged_worst():
    rows = [
        ("a", "lr=1", 0, "complete", 0.5),
        ("a", "lr=1", 1, "complete", 0.7),  # mean 0.6
        ("a", "lr=2", 0, "complete", 0.6),
        ("a", "lr=2", 1, "complete", 0.6),  # tie: 0.6
        ("b", "lr=1", 0, "complete", 0.9),
        ("b", "lr=1", 1, "diverged", None),  # -inf
        ("b", "lr=2", 0, "complete", 0.2),
        ("b", "lr=2", 1, "complete", 0.3),
    ]
    df = pd.DataFrame(rows, columns=["arm", "trial", "seed", "status", "val_accuracy"])
    assert select_tuned(df, "val_accuracy") == {"a": "lr=1", "b": "lr=2"}
    df["val_loss"] = df["val_accuracy"]  # lower is better: picks the smallest mean
    assert (
        select_tuned(df, "val_loss")["a"] == "lr=1" and select_tuned(df, "val_loss")["b"] == "lr=2"
    )


def test_run_claim_tunes_before_it_evaluates():
    launched: list[list] = []

    def fake_launch(jobs):
        launched.append(jobs)
        return [
            {
                "run_id": j.run_id,
                "arm": j.arm,
                "seed": j.seed,
                "trial": j.trial,
                "status": "complete",
                # lr=0.01 is best for every arm except softmax, which prefers 0.001
                "metrics": {
                    "val_accuracy": 1.0
                    if (j.trial or "").endswith("0.001" if j.arm == "softmax" else "=0.01")
                    else 0.5
                },
            }
            for j in jobs
        ]

    choices = run_claim(CLAIM, Budget(), fake_launch)
    assert len(launched) == 2
    first, second = launched
    assert {j.stage for j in first if j.protocol == "audit"} == {"tune"}
    assert {j.protocol for j in second} == {"audit"} and {j.stage for j in second} == {"eval"}
    assert choices["audit"]["softmax"] == "optim.lr=0.001"
    assert choices["audit"]["egyptian"] == "optim.lr=0.01"
    softmax = next(j for j in second if j.arm == "softmax")
    assert "optim.lr=0.001" in softmax.config  # the choice reaches the eval run
