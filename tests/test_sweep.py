"""The plan: which runs a claim expands to, in which order, with which overrides."""

from pathlib import Path

import pandas as pd
from conftest import CLAIMS
from synthetic import ACCT

from replication.claimfile import load_claim
from replication.sweep import Budget, eval_jobs, run_claim, runnable, tune_jobs
from replication.tuning import select_tuned

CLAIM = load_claim(CLAIMS / "h-ee-18.yaml")
SPECS = Path(__file__).parent / "specs"


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


def test_long_protocols_run_only_under_a_long_profile_and_gpu_only_on_cuda():
    claim = load_claim(CLAIMS / "h-sedi-ee-1.yaml")
    assert claim.protocols["audit_fashion"].long
    assert "audit_fashion" not in runnable(claim, Budget())
    assert runnable(claim, Budget(name="long", long=True)) == ["faithful", "audit", "audit_fashion"]
    assert runnable(claim, Budget(name="gpu", device="cuda")) == ["audit_gpu"]


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


def fake_row(job, value):
    return (
        {
            "protocol": job.protocol,
            "arm": job.arm,
            "seed": job.seed,
            "stage": job.stage,
            "trial": job.trial,
            "status": "complete",
            "run_id": job.run_id,
        }
        | ACCT
        | value
    )


def test_run_claim_tunes_then_looks_until_decided():
    launched: list[list] = []

    def fake_launch(jobs):
        launched.append(jobs)
        rows = []
        for j in jobs:
            if j.stage == "tune":  # lr=0.01 is best for every arm except softmax (0.001)
                best = "=0.001" if j.arm == "softmax" else "=0.01"
                rows.append(fake_row(j, {"val_accuracy": 1.0 if j.trial.endswith(best) else 0.5}))
            else:  # every arm identical: every effect is decided ("no effect") at look 1
                rows.append(fake_row(j, {"test_accuracy": 0.7, "val_accuracy": 0.7}))
        return rows

    choices = run_claim(CLAIM, Budget(), fake_launch)
    assert [sorted({j.stage for j in batch}) for batch in launched] == [["tune"], ["eval"]]
    first_eval = launched[1]
    audit_seeds = sorted({j.seed for j in first_eval if j.protocol == "audit"})
    assert audit_seeds == CLAIM.protocols["audit"].seeds[:10]  # only the first look
    assert {j.seed for j in first_eval if j.protocol == "faithful"} == set(
        CLAIM.protocols["faithful"].seeds
    )
    assert choices["audit"]["softmax"] == "optim.lr=0.001"
    softmax = next(j for j in first_eval if j.arm == "softmax" and j.protocol == "audit")
    assert "optim.lr=0.001" in softmax.config  # the choice reaches the eval run


def test_run_claim_adds_seeds_look_by_look():
    spec = load_claim(SPECS / "spec-superiority.yaml")  # looks 10, 20; size 0.02, m 0.005
    noise = [2 * x for x in (0.012, -0.010, 0.015, -0.013, 0.001, 0.010, -0.011, 0.008, -0.009)]
    noise = (noise + [0.004]) * 2
    launched: list[list] = []

    def fake_launch(jobs):
        launched.append(jobs)
        return [
            fake_row(
                j, {"test_accuracy": 0.7 + (0.02 + noise[j.seed % 20] if j.arm == "t" else 0.0)}
            )
            for j in jobs
        ]

    run_claim(spec, Budget(), fake_launch)
    audit_looks = [sorted({j.seed for j in b if j.protocol == "audit"}) for b in launched]
    assert audit_looks == [list(range(10)), list(range(10, 20))]  # decided at the second look
