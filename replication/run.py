"""The Hydra task: one training run of one arm of one claim -> one run record.

`run(cfg)` is what every launcher (basic, joblib, submitit) calls once per job. It skips a run
whose record already exists for the same config, so an interrupted sweep resumes where it
stopped. The claim sweeper (replication/sweep.py) builds each job's overrides.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from replication import accounting, energy, provenance, records
from replication.train import evaluate_splits, fit, make_optimizer

log = logging.getLogger(__name__)

ALLOWED_TARGET_PREFIX = "replication."


def build(node: DictConfig):
    """hydra.utils.instantiate, restricted to classes inside this package."""
    target = node.get("_target_", "")
    if not str(target).startswith(ALLOWED_TARGET_PREFIX):
        raise ValueError(f"refusing to instantiate {target!r}: only {ALLOWED_TARGET_PREFIX}*")
    return hydra.utils.instantiate(node)


def record_path(cfg: DictConfig) -> Path:
    return Path(cfg.paths.runs) / cfg.claim_id / cfg.run_id / records.RECORD_NAME


def job_config(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def run(cfg: DictConfig) -> dict:
    """Run one job unless its record is already there; return a summary for the sweeper."""
    if cfg.get("launched_by") != "claim_sweeper":
        raise RuntimeError(
            "runs are launched by the claim sweeper, which applies the arm's overrides: "
            "use `python -m replication replicate <claim>`"
        )
    config = job_config(cfg)
    chash = records.config_hash(config)
    path = record_path(cfg)
    rec = records.read_if_current(path, chash)
    cached = rec is not None
    if rec is None:
        if path.exists():
            log.warning("%s: stale or unreadable record, running again", path)
        rec = execute(cfg, config, chash)
        records.write(rec, path)
    log.info("%s %s %s", cfg.run_id, rec.status, "(cached)" if cached else "")
    return records.frame_row(rec) | {"run_id": cfg.run_id, "cached": cached}


def _overrides() -> list[str]:
    try:
        return list(HydraConfig.get().overrides.task)
    except ValueError:  # called outside Hydra (tests)
        return []


def execute(cfg: DictConfig, config: dict, chash: str) -> records.RunRecord:
    torch.set_num_threads(cfg.threads)
    seed = int(cfg.seed)
    task = build(cfg.task)
    splits = task.load(seed)
    steps = int(cfg.train.steps)
    if cfg.budget.max_steps is not None:
        steps = min(steps, int(cfg.budget.max_steps))

    torch.manual_seed(seed)  # init; in "shared" mode batches also come from this generator
    if cfg.train.rng == "shared":
        batch_gen = None
    elif cfg.train.rng == "separate":
        batch_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
        batch_gen = torch.Generator().manual_seed(batch_seed)
    else:
        raise ValueError(f"train.rng must be shared or separate, got {cfg.train.rng!r}")
    model = build(cfg.model)
    optimizer = make_optimizer(model.parameters(), cfg.optim)
    batch_size = int(cfg.train.batch_size)
    x0, y0 = splits.train[0][:batch_size], splits.train[1][:batch_size]
    acct = {"params_total": accounting.count_params(model)}
    acct |= accounting.count_flops(model, x0, y0)

    with energy.measure(cfg.device) as used:
        result = fit(
            model,
            optimizer,
            splits,
            steps=steps,
            batch_size=batch_size,
            eval_every=int(cfg.train.eval_every),
            generator=batch_gen,
            evaluate=task.evaluate,
        )
    acct |= {
        "params_trained": accounting.count_trained_params(model),
        "steps": result.steps_done,
        "examples_seen": result.steps_done * batch_size,
        "flops_note": accounting.FLOPS_NOTE,
    }
    metrics = evaluate_splits(model, splits, task.evaluate)
    metrics["test_ceiling"] = splits.test_ceiling()
    if result.train_losses:
        metrics["train_loss_last50"] = float(np.mean(result.train_losses[-50:]))
    extras = {}
    if hasattr(model, "diagnostics"):
        for k, v in model.diagnostics(splits.test[0]).items():
            (extras if isinstance(v, list) else metrics)[k] = v
    if result.status == "diverged":
        metrics = {}  # a diverged run has no final metrics; the spec decides how it counts
    return records.RunRecord(
        claim_id=cfg.claim_id,
        protocol=cfg.protocol,
        arm=cfg.arm,
        seed=seed,
        stage=cfg.stage,
        trial=cfg.trial,
        status=result.status,
        diverged_at=result.diverged_at,
        metrics=metrics,
        curve=result.curve,
        extras=extras,
        config=config,
        config_hash=chash,
        overrides=_overrides(),
        accounting=acct,
        timing={"wall_s": used["wall_s"], "cpu_s": used["cpu_s"]},
        energy=used["energy"],
        environment=provenance.environment(cfg.device),
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> dict:
    return run(cfg)


if __name__ == "__main__":
    main()
