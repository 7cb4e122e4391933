"""One run: same seed gives the same numbers; records are atomic, resumable, checked."""

import json

import pytest
from conftest import CLAIMS
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from replication import CONF_DIR, records
from replication.claimfile import load_claim
from replication.confscan import allowed_targets
from replication.run import build, execute, job_config, record_path, run
from replication.sweep import Budget, eval_jobs

CLAIM = load_claim(CLAIMS / "h-ee-18.yaml")


def job_cfg(tmp_path, arm="egyptian", seed=1, protocol="audit", steps=30):
    job = next(j for j in eval_jobs(CLAIM, protocol, Budget()) if j.arm == arm and j.seed == seed)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            config_name="config",
            overrides=job.overrides(
                [f"train.steps={steps}", "train.eval_every=10", f"paths.runs={tmp_path}"]
            ),
        )


def metrics_of(cfg):
    config = job_config(cfg)
    rec = execute(cfg, config, records.config_hash(config))
    return rec.metrics, rec.curve


def test_same_seed_same_numbers(tmp_path):
    a = metrics_of(job_cfg(tmp_path))
    b = metrics_of(job_cfg(tmp_path))
    assert a == b
    assert a[0]["test_accuracy"] > 0 and len(a[1]) == 4  # steps 0, 10, 20, 30


def test_other_seed_other_numbers(tmp_path):
    assert metrics_of(job_cfg(tmp_path, seed=1))[0] != metrics_of(job_cfg(tmp_path, seed=2))[0]


def test_record_is_written_once_then_reused(tmp_path):
    cfg = job_cfg(tmp_path, steps=5)
    first = run(cfg)
    path = record_path(cfg)
    assert path.is_file() and not first["cached"]
    stamp = path.stat().st_mtime_ns
    assert run(cfg)["cached"] and path.stat().st_mtime_ns == stamp
    rec = records.read(path)
    assert rec.config_hash == records.config_hash(job_config(cfg))
    assert rec.environment["torch_threads"] == 1 and rec.accounting["steps"] == 5
    # bit-identity holds per CPU model and kernel set, so a record names both
    assert rec.environment["cpu_capability"] in {"DEFAULT", "AVX2", "AVX512", "NO AVX"}
    assert rec.environment["cpu_model"]
    assert not list(path.parent.glob("*.tmp"))


def test_changed_config_or_corrupt_record_runs_again(tmp_path):
    cfg = job_cfg(tmp_path, steps=5)
    run(cfg)
    path = record_path(cfg)
    with open_dict(cfg):
        cfg.train.steps = 6
    assert not run(cfg)["cached"]  # different config hash
    path.write_text(path.read_text()[:100])  # a torn write
    good, bad = records.load(tmp_path, "h-ee-18")
    assert good == [] and len(bad) == 1 and str(path) in bad[0]
    assert not run(cfg)["cached"]
    assert json.loads(path.read_text())["accounting"]["steps"] == 6


def test_edited_record_fails_its_checksum(tmp_path):
    cfg = job_cfg(tmp_path, steps=5)
    run(cfg)
    path = record_path(cfg)
    data = json.loads(path.read_text())
    data["metrics"]["test_accuracy"] = 0.99  # valid JSON, valid schema, forged number
    path.write_text(json.dumps(data))
    with pytest.raises(records.RecordError, match="checksum mismatch"):
        records.read(path)
    assert not run(cfg)["cached"]  # never read as a result: run again
    assert records.read(path).metrics["test_accuracy"] != 0.99


def test_diverged_run_is_recorded_with_its_step(tmp_path):
    cfg = job_cfg(tmp_path, steps=30)
    with open_dict(cfg):
        cfg.optim.lr = 1e12
    row = run(cfg)
    rec = records.read(record_path(cfg))
    assert rec.status == "diverged" == row["status"]
    assert 1 <= rec.diverged_at <= 30 and rec.metrics == {}
    assert run(cfg)["cached"]  # a diverged run is final: reused, not re-run


def test_crashed_run_is_recorded_and_the_sweep_carries_on(tmp_path):
    cfg = job_cfg(tmp_path, steps=5)
    with open_dict(cfg):
        cfg.task.split = "bogus"  # composes, then fails inside the run
    row = run(cfg)
    rec = records.read(record_path(cfg))
    assert row["status"] == rec.status == "failed"
    assert "task.split must be stratified or class_ordered" in rec.error
    assert not run(cfg)["cached"]  # failed runs are retried
    with open_dict(cfg):
        cfg.sweep.fail_fast = True
    with pytest.raises(Exception, match=r"task\.split"):
        run(cfg)


def test_jobs_not_planned_by_the_sweeper_are_refused(tmp_path):
    cfg = job_cfg(tmp_path)
    with open_dict(cfg):
        cfg.launched_by = None
    with pytest.raises(RuntimeError, match="claim sweeper"):
        run(cfg)


def test_only_allowed_targets_are_built(tmp_path):
    cfg = job_cfg(tmp_path)
    with open_dict(cfg):
        cfg.model._target_ = "os.system"
    with pytest.raises(ValueError, match=r"refusing to instantiate 'os\.system'"):
        build(cfg.model)
    cfg = job_cfg(tmp_path)
    with open_dict(cfg):  # nested targets are checked too
        cfg.model.router = {"_target_": "replication.run.run"}
    with pytest.raises(ValueError, match=r"replication\.run\.run"):
        build(cfg.model)
    assert "replication.models.moe.MoEClassifier" in allowed_targets()
