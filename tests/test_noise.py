"""A/A claims: the seed-stream knob, the config hash at its neutral value, the noise floor."""

import copy
import json
import math
import statistics

import numpy as np
import pytest
import torch
from conftest import CLAIMS, REPO
from hydra import compose, initialize_config_dir
from scipy import stats as st

from replication import CONF_DIR, guard, noise, records, schema
from replication.claimfile import load_claim
from replication.claims import Scale
from replication.run import _model_node, build, effective_seed, execute, job_config
from replication.stats import confidence_interval
from replication.sweep import Budget, eval_jobs

AA_SPIRAL = load_claim(CLAIMS / "aa-spiral.yaml")
AA_TIMING = load_claim(CLAIMS / "aa-cpu-timing.yaml")
H_EE_18 = load_claim(CLAIMS / "h-ee-18.yaml")
H_EE_1 = load_claim(CLAIMS / "h-ee-1.yaml")


def job_cfg(claim, arm, seed, extra=(), as_seed=None):
    """The composed config of an evaluation run; `as_seed` relabels its seed."""
    job = next(j for j in eval_jobs(claim, "audit", Budget()) if j.arm == arm and j.seed == seed)
    ovs = job.overrides(list(extra))
    if as_seed is not None:
        ovs = [f"seed={as_seed}" if o == f"seed={seed}" else o for o in ovs]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=ovs)


# ------------------------------------------------------------------ the knob


def test_stream_0_is_the_seed_itself_and_other_streams_differ():
    seeds = [0, 1, 2, 42, 1000, 2**32 - 1]
    assert [effective_seed(s, 0) for s in seeds] == seeds
    assert [effective_seed(s) for s in seeds] == seeds
    one = [effective_seed(s, 1) for s in seeds]
    assert one == [effective_seed(s, 1) for s in seeds]  # deterministic
    assert all(0 <= x < 2**32 for x in one)
    assert not set(one) & set(range(64))  # not another pair's seed
    assert len(set(one)) == len(one)
    assert one != [effective_seed(s, 2) for s in seeds]
    batch = [int(np.random.SeedSequence([s, 1]).generate_state(1)[0]) for s in seeds]
    assert not set(one) & set(batch)  # not the batch generator's seed of stream 0


def test_the_guard_and_the_schema_accept_small_streams_only():
    assert guard.override_problem("train.seed_stream=1") is None
    cfg = job_config(job_cfg(AA_SPIRAL, "equal_b", 0))
    assert cfg["train"]["seed_stream"] == 1 and schema.config_problem(cfg) is None
    for bad in (-1, schema.MAX_SEED_STREAM + 1):
        cfg["train"]["seed_stream"] = bad
        assert schema.config_problem(cfg)[0] == "train.seed_stream"
    cfg["train"]["seed_stream"] = "x"
    assert schema.config_problem(cfg)[0] == "train.seed_stream"


def test_a_stream_changes_the_run_and_stream_0_repeats_it():
    extra = ["train.steps=20", "train.eval_every=10"]

    def metrics(arm, seed):
        cfg = job_cfg(AA_SPIRAL, arm, seed, extra)
        return execute(cfg, job_config(cfg), "h").metrics

    a = metrics("equal_a", 3)
    assert metrics("equal_a", 3) == a  # same seed, same stream: the same numbers
    assert metrics("equal_b", 3) != a  # the other stream: another run
    # stream 1 of seed 3 is stream 0 of its effective seed: every draw moved with it
    moved = job_cfg(AA_SPIRAL, "equal_a", 3, extra, as_seed=effective_seed(3, 1))
    assert execute(moved, job_config(moved), "h").metrics == metrics("equal_b", 3)


def test_a_stream_moves_the_seed_models_derive_from_the_run():
    cfg = job_cfg(H_EE_1, "gelu", 0)  # the MLP's init draws from model.run_seed: ${seed}
    assert _model_node(cfg, 0) is cfg.model
    moved = _model_node(cfg, effective_seed(0, 1))
    assert moved.run_seed == effective_seed(0, 1) and cfg.model.run_seed == 0
    w0, w1 = (next(build(node).parameters()).detach() for node in (cfg.model, moved))
    assert w0.shape == w1.shape and not torch.equal(w0, w1)  # numpy_he init from run_seed


# ------------------------------------------------------------------ identity


def test_the_neutral_stream_leaves_the_config_hash_unchanged():
    a = job_config(job_cfg(AA_SPIRAL, "equal_a", 0))
    assert a["train"]["seed_stream"] == 0
    old = copy.deepcopy(a)
    del old["train"]["seed_stream"]  # a config composed before the knob existed
    assert records.config_hash(a) == records.config_hash(old)
    b = job_config(job_cfg(AA_SPIRAL, "equal_b", 0))
    b_on_0 = copy.deepcopy(b)
    b_on_0["train"]["seed_stream"] = 0
    assert records.config_hash(b_on_0) == records.config_hash(
        a | {"arm": b["arm"], "run_id": b["run_id"]}  # the arms differ in their stream alone
    )
    assert records.config_hash(b) != records.config_hash(b_on_0)
    not_zero = copy.deepcopy(a)
    not_zero["train"]["seed_stream"] = False  # only the neutral value itself is dropped
    assert records.config_hash(not_zero) != records.config_hash(a)


COMMITTED = sorted((REPO / "runs" / "h-ee-18").rglob(records.RECORD_NAME))[::20]


@pytest.mark.skipif(not COMMITTED, reason="no committed h-ee-18 records")
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.parent.relative_to(REPO).as_posix())
def test_committed_records_stay_current(path):
    """Read only: the config the new conf/ composes (the stored one plus seed_stream 0)
    hashes as the record says, so replicate reuses it."""
    config = json.loads(path.read_text())["config"]
    config["train"]["seed_stream"] = 0
    assert records.read_if_current(path, records.config_hash(config)) is not None


# ------------------------------------------------------------------ the floor


def rows(arms: dict[str, list[float]], metric: str) -> list[dict]:
    return [
        {
            "protocol": "audit",
            "arm": arm,
            "seed": s,
            "stage": "eval",
            "trial": None,
            "status": "complete",
            metric: v,
        }
        for arm, values in arms.items()
        for s, v in enumerate(values)
    ]


A = [0.70, 0.72, 0.75, 0.71]
B = [0.69, 0.74, 0.73, 0.70]


def test_floor_sd_is_the_sd_of_the_paired_differences():
    runs = rows({"equal_a": A, "equal_b": B}, "test_accuracy")
    rel, pts = noise.floors(AA_SPIRAL, runs)
    assert (pts.effect, pts.n, pts.task, pts.metric, pts.device) == (
        "aa_accuracy_points",
        4,
        "spiral",
        "test_accuracy",
        "cpu",
    )
    d = [0.01, -0.02, 0.02, 0.01]  # A - B
    m = sum(d) / 4
    assert pts.mean == pytest.approx(m)
    assert pts.sd == pytest.approx(math.sqrt(sum((x - m) ** 2 for x in d) / 3))
    assert pts.sd == pytest.approx(0.0173205, rel=1e-5)
    logs = [math.log(a / b) for a, b in zip(A, B, strict=True)]
    assert rel.scale is Scale.relative and rel.sd == pytest.approx(statistics.stdev(logs))
    half = st.t.ppf(0.975, 3) * pts.sd / 2
    ci = confidence_interval(np.array(d), level=0.95)  # the verdicts' interval: t ∪ Hall
    assert (pts.shown_low, pts.shown_high) == pytest.approx((ci.low, ci.high))
    assert pts.shown_low <= m - half + 1e-12 and pts.shown_high >= m + half - 1e-12
    assert pts.sd_low < pts.sd < pts.sd_high
    assert pts.sd_high == pytest.approx(pts.sd * math.sqrt(3 / st.chi2.ppf(0.025, 3)))


def test_timing_floor_is_a_ratio_interval():
    a, b = [2.0e-4, 2.2e-4, 2.1e-4, 2.6e-4], [2.1e-4, 2.0e-4, 2.3e-4, 2.5e-4]
    runs = rows({"gelu_fwd_a": a, "gelu_fwd_b": b}, "kernel_time_s")
    runs += rows({"gelu_step_a": [0.013] * 3, "gelu_step_b": [0.014] * 3}, "step_time_s")
    kernel, step = noise.floors(AA_TIMING, runs)
    logs = [math.log(y / x) for x, y in zip(a, b, strict=True)]  # decrease: log(B / T)
    assert kernel.scale is Scale.ratio and kernel.sd == pytest.approx(statistics.stdev(logs))
    half = st.t.ppf(0.975, 3) * kernel.sd / 2
    mean = statistics.mean(logs)
    assert kernel.shown_mean == pytest.approx(math.exp(mean))
    ci = confidence_interval(np.array(logs), level=0.95)
    assert (kernel.shown_low, kernel.shown_high) == pytest.approx(
        (math.exp(ci.low), math.exp(ci.high))
    )
    assert kernel.shown_low <= math.exp(mean - half) and kernel.shown_high >= math.exp(mean + half)
    assert (step.task, step.n, step.sd) == ("step_bench", 3, pytest.approx(0.0))


def test_only_aa_comparisons_have_a_floor():
    assert all(noise.is_aa(AA_SPIRAL, e) for e in AA_SPIRAL.effects)
    assert all(noise.is_aa(AA_TIMING, e) for e in AA_TIMING.effects)
    assert not any(noise.is_aa(H_EE_18, e) for e in H_EE_18.effects)
    assert noise.floors(H_EE_18, rows({"equal": A, "egyptian": B}, "test_accuracy")) == []
    empty = noise.floors(AA_SPIRAL, [])
    assert [f.n for f in empty] == [0, 0] and all(math.isnan(f.sd) for f in empty)


def test_real_effects_match_the_floor_of_their_task_metric_and_device():
    spiral = noise.floors(AA_SPIRAL, rows({"equal_a": A, "equal_b": B}, "test_accuracy"))
    timing = noise.floors(
        AA_TIMING,
        rows({"gelu_fwd_a": A, "gelu_fwd_b": B}, "kernel_time_s")
        + rows({"gelu_step_a": A, "gelu_step_b": B}, "step_time_s"),
    )
    floors = spiral + timing
    by_name = {e.name: e for e in H_EE_18.effects}
    assert noise.match(H_EE_18, by_name["egyptian_vs_equal"], floors).effect == (
        "aa_accuracy_relative"  # same task and metric; the same scale preferred
    )
    assert noise.match(H_EE_18, by_name["egyptian_vs_equal_points"], floors).effect == (
        "aa_accuracy_points"
    )
    h1 = {e.name: e for e in H_EE_1.effects}
    assert noise.match(H_EE_1, h1["speed_kernel_fwd_cpu"], floors).effect == "aa_kernel_fwd_cpu"
    assert noise.match(H_EE_1, h1["speed_train_step_cpu"], floors).effect == "aa_train_step_cpu"
    assert noise.match(H_EE_1, h1["speed_kernel_fwd_gpu"], floors) is None  # a CPU floor
    assert noise.match(H_EE_1, h1["loss_pattern"], floors) is None  # no A/A on that task
    assert noise.arm_task(H_EE_1, "faithful", "gelu_tanh_fwd") == "numpy_bench"
    assert noise.arm_task(H_EE_18, "audit", "equal") == "spiral"


def test_the_budget_profiles_name_and_long_flag_leave_the_config_hash_unchanged():
    """BUDGET=long reuses the default profile's records; a cap on steps does not."""
    a = job_config(job_cfg(AA_SPIRAL, "equal_a", 0))
    assert a["budget"]["long"] is False
    old = copy.deepcopy(a)
    del old["budget"]["long"]  # a record made before the flag existed
    long = copy.deepcopy(a)
    long["budget"] |= {"name": "long", "long": True}
    assert records.config_hash(a) == records.config_hash(old) == records.config_hash(long)
    capped = copy.deepcopy(a)
    capped["budget"]["max_steps"] = 20
    assert records.config_hash(capped) != records.config_hash(a)
