"""The training loop shared by every claim.

One loop for all arms and tasks, so arms differ only in the model, task or config they name;
the task (replication/tasks/base.py) supplies batches, the loss and evaluation. Evaluation
never draws random numbers, so adding curve points cannot change what the model sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F


@dataclass
class Splits:
    """The data of one run: (x, y) tables for classification, id tensors for text."""

    train: Any
    test: Any
    val: Any = None

    def named(self) -> dict[str, Any]:
        """The held-out splits by name (val first when present)."""
        out = {"val": self.val} if self.val is not None else {}
        return out | {"test": self.test}

    def test_ceiling(self) -> float:
        """Share of test rows whose class occurs in training: the best attainable accuracy."""
        seen = torch.isin(self.test[1].flatten(), self.train[1].unique())
        return float(seen.double().mean())


@dataclass
class FitResult:
    status: str  # complete | diverged
    steps_done: int
    diverged_at: int | None = None
    train_losses: list[float] = field(default_factory=list)
    curve: list[dict] = field(default_factory=list)  # {"step": s, "<split>_<metric>": value}
    stopped_at: int | None = None  # the step after which a stopper ended training
    stop_reason: str | None = None  # what the stopper said


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg) -> torch.optim.Optimizer:
    """Build the optimizer conf/optim/<name>.yaml describes (no _target_: claims stay data)."""
    if cfg.name == "adam":
        return torch.optim.Adam(
            params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.name == "adamw":
        return torch.optim.AdamW(
            params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    raise ValueError(f"unknown optim.name {cfg.name!r} (adam, adamw, sgd)")


@torch.no_grad()
def classification_metrics(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    was_training = model.training
    model.eval()
    logits = model(x)
    model.train(was_training)
    return {
        "loss": float(F.cross_entropy(logits, y)),
        "accuracy": float((logits.argmax(dim=-1) == y).float().mean()),
    }


def evaluate_splits(model: torch.nn.Module, splits: Splits, task) -> dict:
    """{"val_accuracy": ..., "test_loss": ...}: every metric of every held-out split."""
    out = {}
    for name, split in splits.named().items():
        out |= {f"{name}_{k}": v for k, v in task.evaluate(model, split).items()}
    return out


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    task,
    splits: Splits,
    *,
    steps: int,
    batch_size: int,
    eval_every: int,
    generator: torch.Generator | None,
    grad_clip: float | None = None,
    stopper: Callable[[list[dict]], str | None] | None = None,
) -> FitResult:
    """Train for `steps` minibatches from task.batch; stop early on divergence, or when
    `stopper`, called with the curve after each evaluation, gives a reason to stop
    (replication/stopping.py; the model is kept as it is then, no weights restored).

    generator=None draws batches from torch's global generator (the authors' scripts do);
    otherwise from the given one, so batch order does not depend on how init consumed numbers.
    The recorded loss of a step is the loss before that step's update.
    """
    result = FitResult(status="complete", steps_done=0)
    result.curve.append({"step": 0} | evaluate_splits(model, splits, task))
    model.train()
    for step in range(1, steps + 1):
        x, y = task.batch(splits, step, batch_size, generator)
        loss = task.loss(model(x), y)
        value = loss.item()
        if not math.isfinite(value):
            result.status, result.diverged_at = "diverged", step
            break
        aux = getattr(model, "aux_loss", None)  # e.g. an MoE's load balancing; not recorded
        optimizer.zero_grad()
        (loss if aux is None else loss + aux).backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        result.train_losses.append(value)
        result.steps_done = step
        if step % eval_every == 0 or step == steps:
            result.curve.append({"step": step} | evaluate_splits(model, splits, task))
            reason = stopper(result.curve) if stopper is not None else None
            if reason:
                result.stopped_at, result.stop_reason = step, reason
                break
    return result
