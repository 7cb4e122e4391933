"""End to end, as a user runs it: `make replicate CLAIM=h-ee-18 BUDGET=smoke`."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, make, snapshot


def test_smoke_replicate_writes_records_and_a_report(smoke):
    out, _ = smoke
    recs = sorted((out / "runs" / "h-ee-18").rglob("record.json"))
    # faithful 5 arms x 2 seeds + audit tuning 6 arms x 2 values x 1 seed + audit 6 arms x 2
    assert len(recs) == 10 + 12 + 12
    report = (out / "reports" / "h-ee-18.md").read_text()
    for heading in [
        "## Verdict",
        "## Authors' figure, faithful re-run and audit",
        "### Why the numbers differ",
        "## Parity receipt",
        "## Provenance",
        '## Secondary claim: "expert entropy 0.99 (no collapse)"',
        "## Compute",
        "## Secondary statistics (reported, never decisive)",
    ]:
        assert heading in report
    assert (out / "reports" / "h-ee-18" / "per_seed.png").stat().st_size > 1000
    assert "wall s (sum)" in (out / "reports" / "h-ee-18" / "cost.md").read_text()
    index = (out / "reports" / "README.md").read_text()
    assert "[h-ee-18](h-ee-18.md)" in index
    # the receipts state what this budget ran, and where its records are
    assert "optim.lr over 2 values x 1 seeds on val_accuracy" in report
    assert "over 4 values" not in report
    assert f"- Records: 34 under `{(out / 'runs').as_posix()}/h-ee-18/`" in report


def test_second_run_trains_nothing_and_report_is_byte_identical(smoke):
    out, args = smoke
    runs_before = snapshot(out / "runs")
    reports_before = snapshot(out / "reports")
    assert len([p for p in runs_before if p.name == "record.json"]) == 34
    assert set(runs_before) - {p for p in runs_before if p.name == "record.json"} == {
        Path(".locks/h-ee-18.lock")  # the sweep's lock (replication/workspace.py)
    }
    again = make("replicate", "CLAIM=h-ee-18", "BUDGET=smoke", args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("(cached)") == 34
    assert snapshot(out / "runs") == runs_before
    assert snapshot(out / "reports") == reports_before
    rerender = make("report", "CLAIM=h-ee-18", "BUDGET=smoke", args)
    assert rerender.returncode == 0 and snapshot(out / "reports") == reports_before


def test_unknown_claim_fails_loudly(tmp_path):
    res = make("replicate", "CLAIM=h-ee-99", "BUDGET=smoke", f"ARGS=paths.runs={tmp_path}")
    assert res.returncode != 0
    assert "unknown claim 'h-ee-99'" in res.stdout + res.stderr
    assert not (tmp_path / "h-ee-99").exists()


def test_a_bare_hydra_run_does_not_run_defaults(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "replication.run", f"paths.runs={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode != 0
    assert "Missing mandatory value" in res.stdout + res.stderr
    assert not any(tmp_path.iterdir())


ACTIVATION_CLAIMS = ["h-ee-1", "h-ee-17", "boltzmann-gate", "mertens-dropout", "h-ee-12"]
# The shape claims' new blocks (MoE FFN, head-split attention, the sequence classifier) all run
# in h-ee-10 and egyptian-attn; the other three use blocks the claims above already exercise,
# so they run end to end under `make test-all` only, to keep `make test` within CI's budget.
SHAPE_CLAIMS = [
    "h-ee-10",
    "egyptian-attn",
    pytest.param("hcn-dims", marks=pytest.mark.slow),
    pytest.param("h-ee-11", marks=pytest.mark.slow),
    pytest.param("dedekind-heads", marks=pytest.mark.slow),
]


SEARCH_CLAIMS = ["clso"]  # CLSO's genetic search and its AdamW baseline (tasks/clso.py)


@pytest.mark.parametrize("claim", ACTIVATION_CLAIMS + SHAPE_CLAIMS + SEARCH_CLAIMS)
def test_activation_claims_replicate_end_to_end(claim, tmp_path):
    """Each activation and shape claim runs at the smoke budget and writes a full report
    (CPU part)."""
    import yaml

    args = f"ARGS=paths.runs={tmp_path / 'runs'} paths.reports={tmp_path / 'reports'}"
    res = make("replicate", f"CLAIM={claim}", "BUDGET=smoke", args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    spec = yaml.safe_load((REPO / "claims" / f"{claim}.yaml").read_text())
    cpu = [p for p, v in spec["protocols"].items() if v.get("device", "cpu") == "cpu"]
    for protocol in cpu:  # every CPU protocol left records, every arm at least one
        for arm in spec["protocols"][protocol]["arms"]:
            recs = list((tmp_path / "runs" / claim / protocol / arm).rglob("record.json"))
            assert recs, f"{protocol}/{arm} has no record"
    report = (tmp_path / "reports" / f"{claim}.md").read_text()
    for heading in ["## Verdict", "## Authors' figure, faithful re-run and audit", "## Parity"]:
        assert heading in report
    for protocol in cpu:
        if protocol != "faithful":
            assert f"### `{protocol}`" in report
    for effect in spec["effects"]:  # every CPU comparison has a verdict row
        if spec["protocols"][effect.get("protocol", "audit")].get("device", "cpu") == "cpu":
            assert f"| `{effect['name']}` |" in report


def test_an_aa_claim_gives_the_floor_a_real_claim_quotes(smoke, tmp_path):
    """aa-spiral at the smoke budget, beside h-ee-18's smoke records: the A/A report shows its
    own floor, the index lists it apart from the BH family, h-ee-18's report quotes it."""
    import shutil

    h_out, _ = smoke
    shutil.copytree(h_out / "runs" / "h-ee-18", tmp_path / "runs" / "h-ee-18")
    args = f"ARGS=paths.runs={tmp_path / 'runs'} paths.reports={tmp_path / 'reports'}"
    res = make("replicate", "CLAIM=aa-spiral", "BUDGET=smoke", args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    own = (tmp_path / "reports" / "aa-spiral.md").read_text()
    assert "## Noise floor (A/A)" in own and "This is an A/A claim" in own
    res = make("report", "CLAIM=h-ee-18", "BUDGET=smoke", args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    real = (tmp_path / "reports" / "h-ee-18.md").read_text()
    assert "## Noise floor (A/A)" in real and "[aa-spiral](aa-spiral.md)" in real
    index = (tmp_path / "reports" / "README.md").read_text()
    main, _, calibration = index.partition("## A/A calibration claims")
    assert "[aa-spiral](aa-spiral.md)" in calibration and "[aa-spiral]" not in main
