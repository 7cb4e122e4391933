"""One run: same seed gives the same numbers; records are atomic, resumable, checked."""

import json

import pytest
from conftest import CLAIMS
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from replication import CONF_DIR, records
from replication.claims import load_claim
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
    assert not list(path.parent.glob("*.tmp"))


def test_changed_config_or_corrupt_record_runs_again(tmp_path):
    cfg = job_cfg(tmp_path, steps=5)
    run(cfg)
    path = record_path(cfg)
    with open_dict(cfg):
        cfg.train.steps = 6
    assert not run(cfg)["cached"]  # different config hash
    path.write_text(path.read_text()[:100])  # a torn write
    with pytest.raises(records.RecordError, match=str(path)):
        records.load(tmp_path, "h-ee-18")
    assert not run(cfg)["cached"]
    assert json.loads(path.read_text())["accounting"]["steps"] == 6


def test_jobs_not_planned_by_the_sweeper_are_refused(tmp_path):
    cfg = job_cfg(tmp_path)
    with open_dict(cfg):
        cfg.launched_by = None
    with pytest.raises(RuntimeError, match="claim sweeper"):
        run(cfg)


def test_only_package_targets_are_built(tmp_path):
    cfg = job_cfg(tmp_path)
    with open_dict(cfg):
        cfg.model._target_ = "os.system"
    with pytest.raises(ValueError, match=r"refusing to instantiate 'os\.system'"):
        build(cfg.model)
