"""Execution you can trust: kill and resume, hostile claims, failures, launchers, merging."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, make, reports_of
from synthetic import runs as synthetic_runs

from replication import records
from replication.analysis import evaluate_protocol
from replication.claimfile import load_claim
from replication.claims import ClaimError
from replication.merge import merge

SPECS = Path(__file__).parent / "specs"


def test_kill_and_resume_gives_the_same_report(smoke, tmp_path):
    """SIGKILL a real sweep mid-way, start it again: only missing runs run, same report."""
    reference, _ = smoke
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    args = f"ARGS=paths.runs={runs} paths.reports={reports}"
    cmd = ["make", f"PY={sys.executable}", "replicate", "CLAIM=h-ee-18", "BUDGET=smoke", args]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 300
    while len(records.find(runs, "h-ee-18")) < 8 and time.time() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its workers and their children
    proc.wait()
    partial = len(records.find(runs, "h-ee-18"))
    assert 8 <= partial < 34, partial
    good, bad = records.load(runs, "h-ee-18")
    assert bad == [] and len(good) == partial  # nothing torn is read back
    resumed = make("replicate", "CLAIM=h-ee-18", "BUDGET=smoke", args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.count("(cached)") >= partial  # finished runs were not redone
    # measured time (cost.md) differs between executions, by design
    assert reports_of(reports, runs) == reports_of(reference / "reports", reference / "runs")
    assert not list(runs.rglob("*.tmp"))


def test_hostile_claim_is_refused_before_anything_runs(tmp_path):
    evil = (
        (SPECS / "spec-tiny.yaml")
        .read_text()
        .replace("spec-tiny", "evil")
        .replace(
            "egyptian: [model/router=egyptian], equal",
            "egyptian: [model._target_=os.system], equal",
            1,
        )
    )
    (tmp_path / "evil.yaml").write_text(evil)
    res = make(
        "replicate", "CLAIM=evil", f"ARGS=paths.claims={tmp_path} paths.runs={tmp_path / 'runs'}"
    )
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "evil.yaml: field 'protocols.faithful.arms.egyptian[0]'" in out and "_target_" in out
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "override, message",
    [
        ("hydra.job.env_set.X=1", "'hydra' is set by the harness"),
        ("paths.runs=/etc", "'paths' is set by the harness"),
        ("seed=3", "'seed' is set by the harness"),
        ("+model._args_=1", "may not set"),
    ],
)
def test_claims_cannot_redirect_or_relabel(tmp_path, override, message):
    text = (
        (SPECS / "spec-tiny.yaml")
        .read_text()
        .replace("overrides: [task=spiral,", f"overrides: [{override}, task=spiral,")
    )
    (tmp_path / "spec-tiny.yaml").write_text(text)
    with pytest.raises(ClaimError, match=message) as info:
        load_claim(tmp_path / "spec-tiny.yaml")
    assert info.value.field == "overrides[0]"


def test_interpolations_are_refused(tmp_path):
    text = (
        (SPECS / "spec-tiny.yaml")
        .read_text()
        .replace("title: tiny runnable claim", "title: ${oc.env:HOME}")
    )
    (tmp_path / "spec-tiny.yaml").write_text(text)
    with pytest.raises(ClaimError, match="interpolations") as info:
        load_claim(tmp_path / "spec-tiny.yaml")
    assert info.value.field == "title"


def test_duplicate_arm_is_a_clear_error(tmp_path):
    text = (
        (SPECS / "spec-tiny.yaml")
        .read_text()
        .replace("seeds: [0, 1]", "seeds: [0, 1]\n    seeds: [2]")
    )
    (tmp_path / "spec-tiny.yaml").write_text(text)
    with pytest.raises(ClaimError, match="duplicate key 'seeds'") as info:
        load_claim(tmp_path / "spec-tiny.yaml")
    assert info.value.field == "protocols.audit.seeds"


def tiny(tmp_path, launcher: str, *extra: str):
    """`make replicate` of the tiny claim into tmp_path/<launcher>."""
    out = tmp_path / launcher
    args = [
        f"paths.claims={SPECS}",
        f"paths.runs={out / 'runs'}",
        f"paths.reports={out / 'reports'}",
        *extra,
    ]
    if launcher == "subprocess":  # submitit's job logs, kept out of the repository
        args.append(f"hydra.launcher.submitit_folder={out / 'jobs'}/%j")
    res = make("replicate", "CLAIM=spec-tiny", f"LAUNCHER={launcher}", "ARGS=" + " ".join(args))
    return res, out


def test_joblib_and_submitit_local_launchers_give_identical_records(tmp_path):
    results = {}
    for launcher in ("parallel", "subprocess"):
        res, out = tiny(tmp_path, launcher)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        good, bad = records.load(out / "runs", "spec-tiny")
        assert bad == [] and len(good) == 6
        results[launcher] = {(r.protocol, r.arm, r.seed): r.metrics for r in good}
    assert results["parallel"] == results["subprocess"]


def test_crash_is_recorded_and_reported_or_stops_with_fail_fast(tmp_path):
    # a batch of 0 rows passes every check of the config and crashes in training
    res, out = tiny(tmp_path, "parallel", "train.batch_size=0")
    assert res.returncode == 0, res.stderr[-2000:]  # the sweep carries on
    good, _ = records.load(out / "runs", "spec-tiny")
    assert {r.status for r in good} == {"failed"} and len(good) == 6
    report = (out / "reports" / "spec-tiny.md").read_text()
    assert "ZeroDivisionError: division by zero" in report
    assert "| faithful | egyptian |" in report
    stop, _ = tiny(tmp_path / "ff", "parallel", "train.batch_size=0", "sweep.fail_fast=true")
    assert stop.returncode != 0


def test_a_bad_command_line_override_is_the_users_not_the_claims(tmp_path):
    res, out = tiny(tmp_path, "parallel", "task.split=bogus")
    assert res.returncode == 2 and not (out / "runs").exists()
    lines = [ln for ln in res.stderr.splitlines() if not ln.startswith("make: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ARGS 'task.split=bogus': ")
    assert "task.split must be stratified or class_ordered" in lines[0]


def test_diverged_runs_counted_in_the_report(tmp_path):
    res, out = tiny(tmp_path, "parallel", "optim.lr=1e12")
    assert res.returncode == 0, res.stderr[-2000:]
    good, _ = records.load(out / "runs", "spec-tiny")
    assert all(r.status == "diverged" and r.diverged_at for r in good)
    report = (out / "reports" / "spec-tiny.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| audit | egyptian |"))
    assert "| 0 | 2 | 0 |" in row  # complete, diverged, failed
    assert "seeds without a complete pair" in report


@pytest.mark.parametrize("policy, verdict", [("failure", "INCONCLUSIVE"), ("worst", "REFUTED")])
def test_the_spec_decides_how_divergence_counts(policy, verdict):
    claim = load_claim(SPECS / "spec-superiority.yaml")
    claim.on_diverged = type(claim.on_diverged)(policy)
    df = synthetic_runs({"t": {"test_accuracy": 0.75}, "b": {"test_accuracy": 0.7}}, n=20)
    df.loc[df["arm"] == "t", "status"] = "diverged"  # the treatment never trains to the end
    df.loc[df["arm"] == "t", "test_accuracy"] = float("nan")
    r = evaluate_protocol(df, claim, "audit").results["gain"]
    assert r.decision.verdict.value == verdict
    if policy == "worst":  # scored as the worst accuracy any run reached: below the baseline
        assert r.decision.label == "reversed"


def test_merge_by_identity(tmp_path):
    res, out = tiny(tmp_path, "parallel")
    assert res.returncode == 0
    src = out / "runs"
    dest = tmp_path / "merged"
    first = merge([src], dest)
    assert len(first.copied) == 6 and not first.conflicts
    again = merge([src], dest)
    assert len(again.same) == 6 and not again.copied
    path = records.find(src, "spec-tiny")[0]
    rec = records.read(path)
    rec.metrics["test_accuracy"] = 0.123  # the same config with another result
    records.write(rec, path, src)
    clash = merge([src], dest)
    assert len(clash.conflicts) == 1 and "different results" in clash.conflicts[0]
    assert records.read(dest / path.relative_to(src)).metrics["test_accuracy"] != 0.123
    path.write_text(path.read_text()[:50])
    assert len(merge([src], dest).invalid) == 1


def test_unknown_override_names_the_claim_field(tmp_path, capsys):
    from replication.__main__ import main

    text = (
        (SPECS / "spec-tiny.yaml")
        .read_text()
        .replace("overrides: [task.split=stratified]", "overrides: [task.splitt=stratified]")
    )
    (tmp_path / "spec-tiny.yaml").write_text(text)
    assert main(["validate", str(tmp_path / "spec-tiny.yaml")]) == 2
    err = capsys.readouterr().err
    assert "field 'protocols.audit.overrides[0]'" in err and "splitt" in err


def test_nightly_compare_flags_flips_and_moves():
    from replication.nightly import compare

    old = {
        "c": {
            "code_sha": "a",
            "seeds": 10,
            "comparisons": {
                "x": {
                    "verdict": "REFUTED (no effect)",
                    "n": 10,
                    "ci": [-0.01, 0.01],
                    "tolerance": 0.00125,
                },
                "y": {"verdict": "CONFIRMED", "n": 10, "ci": [0.02, 0.05], "tolerance": 0.00125},
            },
        }
    }
    same = json.loads(json.dumps(old))
    same["c"]["code_sha"] = "b"  # a new commit alone is not a regression
    assert compare(old, same) == []
    new = json.loads(json.dumps(old))
    new["c"]["comparisons"]["x"]["verdict"] = "INCONCLUSIVE (high variance)"
    new["c"]["comparisons"]["y"]["ci"] = [0.02, 0.0515]
    diff = compare(old, new)
    assert any(d.startswith("! c/x: verdict") for d in diff)
    assert any(d.startswith("~ c/y: CI") for d in diff)
    new["c"]["comparisons"]["y"]["ci"] = [0.02, 0.051]  # within the tolerance
    assert not any(d.startswith("~ c/y") for d in compare(old, new))
    assert compare(old, {}) == ["- c: claim missing tonight"]


def test_nightly_table_from_smoke_records(smoke):
    from replication.nightly import verdict_table

    out, _ = smoke
    table = verdict_table(REPO / "claims", out / "runs", max_seeds=2)
    comps = table["h-ee-18"]["comparisons"]
    assert set(comps) >= {"egyptian_vs_equal", "egyptian_vs_fixed_random"}
    assert table["h-ee-18"]["seeds"] == {"audit": 2}
    assert all("verdict" in c and c["n"] == 2 for c in comps.values())
    assert pd.notna(table["h-ee-18"]["code_sha"])


def test_nightly_carries_gpu_comparisons_from_the_committed_records(smoke):
    from replication.nightly import verdict_table

    out, _ = smoke
    table = verdict_table(REPO / "claims", out / "runs", 2, "cpu", committed_runs=REPO / "runs")
    comps = table["h-ee-1"]["comparisons"]
    gpu = {k: v for k, v in comps.items() if k.endswith("_gpu")}
    assert gpu and all("needs a cuda device" in v["carried"] for v in gpu.values())
    assert not any("carried" in v for k, v in comps.items() if not k.endswith("_gpu"))
    assert table["h-ee-1"]["seeds"]["audit_speed_gpu"] > 2  # full size, not the smoke cap
