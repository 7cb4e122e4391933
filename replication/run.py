"""The Hydra task: one training run of one arm of one claim -> one run record.

`run(cfg)` is what every launcher (basic, joblib, submitit) calls once per job. It skips a run
whose record already exists for the same config, so an interrupted sweep resumes where it
stopped. The claim sweeper (replication/sweep.py) builds each job's overrides.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
import traceback
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from replication import (
    CONF_DIR,
    accounting,
    confscan,
    energy,
    provenance,
    records,
    stopping,
    workspace,
)
from replication.models.activations import Activation
from replication.train import evaluate_splits, fit, make_optimizer

log = logging.getLogger(__name__)


def build(node: DictConfig):
    """hydra.utils.instantiate, restricted to the classes conf/ names, at every depth; the
    node is resolved first, so that no interpolation can hide a `_target_`."""
    for target in confscan.targets(OmegaConf.to_container(node, resolve=True)):
        if target not in confscan.allowed_targets():
            raise ValueError(
                f"refusing to instantiate {target!r}: not one of the classes "
                f"conf/ names ({', '.join(sorted(confscan.allowed_targets()))})"
            )
    return hydra.utils.instantiate(node)


CAPS = {"max_repeats": "repeats", "max_calls": "calls", "max_eval_windows": "eval_windows"}


def cap_task(task: object, budget: DictConfig) -> None:
    """A budget profile's caps on the task's own knobs (smoke runs: fewer timed repeats,
    calls and evaluation windows); a task without the knob is left alone."""
    for cap, knob in CAPS.items():
        if budget.get(cap) is not None and hasattr(task, knob):
            setattr(task, knob, min(getattr(task, knob), int(budget[cap])))


def record_path(cfg: DictConfig) -> Path:
    return Path(cfg.paths.runs) / cfg.claim_id / cfg.run_id / records.RECORD_NAME


def job_config(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def run(cfg: DictConfig) -> dict:
    """Run one job unless its record is already there; return its row for the sweeper.

    A crash is recorded as a `failed` record with its error (retried by the next replicate)
    and the sweep carries on, unless sweep.fail_fast is set.
    """
    if cfg.get("launched_by") != "claim_sweeper":
        raise RuntimeError(
            "runs are launched by the claim sweeper, which applies the arm's overrides: "
            "use `python -m replication replicate <claim>`"
        )
    config = job_config(cfg)
    chash = records.config_hash(config)
    path, root = record_path(cfg), Path(cfg.paths.runs)
    workspace.check_target(path, root)  # before any work: a record must be writable there
    rec = records.read_if_current(path, chash)
    cached = rec is not None
    if rec is None:
        if path.exists():
            log.warning("%s: stale, failed or unreadable record, running again", path)
        try:
            rec = execute(cfg, config, chash)
        except Exception as err:
            rec = failed(cfg, config, chash, err)
            records.write(rec, path, root)
            log.error("%s failed: %s", cfg.run_id, rec.error.splitlines()[0])
            if cfg.sweep.fail_fast:
                raise
            return records.frame_row(rec) | {"run_id": cfg.run_id, "cached": False}
        records.write(rec, path, root)
    log.info("%s %s %s", cfg.run_id, rec.status, "(cached)" if cached else "")
    return records.frame_row(rec) | {"run_id": cfg.run_id, "cached": cached}


def failed(cfg: DictConfig, config: dict, chash: str, err: Exception) -> records.RunRecord:
    where = "".join(traceback.format_exception(err)[-3:-1]).strip()
    tail = f"{type(err).__name__}: {' '.join(str(err).split())}\n{where}"
    return _record(cfg, config, chash, "failed", {}, {}, [], {}, None, error=tail)


def _overrides() -> list[str]:
    try:
        return list(HydraConfig.get().overrides.task)
    except ValueError:  # called outside Hydra (tests)
        return []


def execute(cfg: DictConfig, config: dict, chash: str) -> records.RunRecord:
    """One run: a training run, or a measurement when the task is a benchmark."""
    cache = Path(cfg.paths.runs) / ".cache"  # torch.compile's generated code: not in /tmp
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache / "torchinductor"))
    os.environ.setdefault("TRITON_CACHE_DIR", str(cache / "triton"))
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(bool(cfg.deterministic))
    seed = effective_seed(int(cfg.seed), int(cfg.train.get("seed_stream", 0)))
    task = build(cfg.task)
    cap_task(task, cfg.budget)
    torch.manual_seed(seed)  # init; in "shared" mode batches also come from this generator
    model = build(_model_node(cfg, seed))
    acct = {"params_total": accounting.count_params(model)}
    if hasattr(model, "param_counts"):  # by component, e.g. the FFN's share
        acct |= {f"params_{k}": v for k, v in model.param_counts().items()}
    if hasattr(model, "flop_counts"):  # by component, counted by hand (a unit test checks)
        acct |= {f"flops_{k}_per_example": v for k, v in model.flop_counts().items()}
    settings = energy.Settings(**cfg.energy)
    if hasattr(task, "measure"):
        inner = energy.Meter(cfg.device, settings)  # a task's own steady-state windows

        def bench() -> tuple[dict, dict]:
            if isinstance(model, Activation):  # a kernel: the task times the function alone
                return task.measure(model.name, model.params, cfg.device, seed, meter=inner)
            return task.measure(model, cfg.device, seed, meter=inner)

        (metrics, extras), used = measured(cfg.device, settings, bench, "whole benchmark run")
        if inner.windows:  # the task measured steady-state windows: they are the energy
            used["energy"] = inner.record(getattr(task, "batch_size", 1), "steady-state windows")
        return _record(cfg, config, chash, "complete", metrics, extras, [], acct, used)
    splits = task.load(seed)
    batch_size = int(cfg.train.batch_size)
    stop = stopping.StopRule.from_config(cfg.stop) if "stop" in cfg else None
    if stop is not None:  # epoch-based training with a stopping rule (replication/stopping.py)
        per_epoch = task.steps_per_epoch(splits, batch_size)
        steps, eval_every = stop.epochs * per_epoch, per_epoch
    else:
        steps, eval_every = int(cfg.train.steps), int(cfg.train.eval_every)
    if cfg.budget.max_steps is not None:
        steps = min(steps, int(cfg.budget.max_steps))
    probe = task.batch(splits, 1, batch_size, torch.Generator().manual_seed(0))
    acct |= accounting.count_flops(model, *probe, task.loss)
    optimizer = make_optimizer(model.parameters(), cfg.optim)

    def train() -> object:
        return fit(
            model,
            optimizer,
            task,
            splits,
            steps=steps,
            batch_size=batch_size,
            eval_every=eval_every,
            generator=_batch_generator(cfg, seed),
            grad_clip=cfg.train.grad_clip,
            stopper=stop.stopper() if stop else None,
        )

    result, used = measured(cfg.device, settings, train, "training loop", batch_size, idle=True)
    acct |= {
        "params_trained": accounting.count_trained_params(model),
        "steps": result.steps_done,
        "examples_seen": result.steps_done * batch_size,
        "flops_note": accounting.FLOPS_NOTE,
    }
    metrics, extras = {}, {}
    if result.status == "complete":  # a diverged run has no final metrics to report
        metrics = evaluate_splits(model, splits, task) | task.final_metrics(model, splits)
        if result.train_losses:
            metrics["train_loss_tail"] = float(np.mean(result.train_losses[-cfg.train.tail :]))
            metrics["train_loss_final"] = result.train_losses[-1]
        if data := task.describe(splits):
            extras["data"] = data
        if stop is not None:
            metrics |= stopping.summary(result.curve, stop, per_epoch)
            if stop.rule == "posthoc":
                extras["plateau_table"] = stopping.plateau_table(result.curve, stop)
            if result.stop_reason:
                extras["stop_reason"] = result.stop_reason
            metrics["energy_at_stop_j"] = stopping.energy_at_stop(used["energy"], metrics)
        if hasattr(model, "diagnostics"):
            for k, v in model.diagnostics(task.diagnostic_input(splits)).items():
                (extras if isinstance(v, list) else metrics)[k] = v
    rec = _record(cfg, config, chash, result.status, metrics, extras, result.curve, acct, used)
    rec.diverged_at = result.diverged_at
    return rec


def measured(
    device: str,
    settings: energy.Settings,
    work,
    scope: str,
    examples_per_step: int = 1,
    idle: bool = False,
    steps_of=lambda result: getattr(result, "steps_done", 0),
) -> tuple[object, dict]:
    """Run `work` as one energy window (idle power before and after it when `idle`, on a
    device with a counter); return its result and the record's timing and energy."""
    meter = energy.Meter(device, settings)
    if idle:
        meter.idle()
    cpu0, out = time.process_time(), {}
    window = meter.window(lambda: out.setdefault("result", work()))
    cpu = time.process_time() - cpu0
    if idle:
        meter.idle()
    window.steps = int(steps_of(out["result"]))
    used = {"wall_s": window.seconds, "cpu_s": cpu}
    return out["result"], used | {"energy": meter.record(examples_per_step, scope)}


SEED_STREAM_TAG = 0x5EED5  # keeps derived seeds apart from SeedSequence([seed, k]) streams


def effective_seed(seed: int, stream: int = 0) -> int:
    """The seed a run uses for its data, split, initial weights, batch order and benchmark
    input: `seed` itself on stream 0 (every record made before `train.seed_stream` existed),
    else a 32-bit seed drawn from numpy's SeedSequence of (seed, stream). Two arms with the
    same config and seed but different streams are then independent replicates (A/A claims,
    docs/noise-floor.md). The tag keeps the derived seed apart from the per-seed streams that
    tasks and the batch generator draw as SeedSequence([seed, k])."""
    if stream == 0:
        return seed
    return int(np.random.SeedSequence([seed, stream, SEED_STREAM_TAG]).generate_state(1)[0])


def _model_node(cfg: DictConfig, seed: int) -> DictConfig:
    """cfg.model, with the seed it derives from the run's (`model.run_seed: ${seed}`) set to
    the effective seed when a seed stream moved it."""
    if seed == int(cfg.seed) or "run_seed" not in cfg.model:
        return cfg.model
    node = OmegaConf.create(OmegaConf.to_container(cfg.model, resolve=True))
    node.run_seed = seed
    return node


def _batch_generator(cfg: DictConfig, seed: int) -> torch.Generator | None:
    if cfg.train.rng == "shared":
        return None
    if cfg.train.rng == "separate":
        batch_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
        return torch.Generator().manual_seed(batch_seed)
    raise ValueError(f"train.rng must be shared or separate, got {cfg.train.rng!r}")


def _record(
    cfg: DictConfig,
    config: dict,
    chash: str,
    status: str,
    metrics: dict,
    extras: dict,
    curve: list,
    acct: dict,
    used: dict | None,
    error: str | None = None,
) -> records.RunRecord:
    """The record of a run; `used` (time and energy) is None for a run that crashed."""
    return records.RunRecord(
        claim_id=cfg.claim_id,
        protocol=cfg.protocol,
        arm=cfg.arm,
        seed=int(cfg.seed),
        stage=cfg.stage,
        trial=cfg.trial,
        status=status,
        metrics=metrics,
        curve=curve,
        extras=extras,
        config=config,
        config_hash=chash,
        overrides=_overrides(),
        accounting=acct,
        timing={"wall_s": used["wall_s"], "cpu_s": used["cpu_s"]} if used else {},
        energy=used["energy"] if used else {},
        environment=provenance.environment(cfg.device),
        launch=launch_order(cfg),
        error=error,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )


ORDER_RULE = (
    "seeds outer, arms in claim order inside each seed (ABAB...); a protocol marked "
    "exclusive runs one job at a time in that order"
)


def launch_order(cfg: DictConfig) -> dict:
    """Where this run sat in its sweep's launch order (the sweeper numbers its jobs)."""
    position = cfg.sweep.get("position")
    return {"position": position, "rule": ORDER_RULE} if position is not None else {}


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> dict:
    return run(cfg)


if __name__ == "__main__":
    # Enter through the importable module, not __main__, so that launchers which pickle the
    # task function (joblib, submitit) send a reference to replication.run.main.
    from replication import run as module

    module.main()
