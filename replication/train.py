"""The supervised training loop shared by every classification claim.

One loop for all arms, so arms differ only in the model or config they name. Evaluation never
draws random numbers, so adding curve points cannot change what the model sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

XY = tuple[torch.Tensor, torch.Tensor]
Evaluate = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], dict]


@dataclass
class Splits:
    train: XY
    test: XY
    val: XY | None = None

    def named(self) -> dict[str, XY]:
        """The held-out splits by name (val first when present)."""
        out = {"val": self.val} if self.val is not None else {}
        return out | {"test": self.test}

    def test_ceiling(self) -> float:
        """Share of test rows whose class occurs in training: the best attainable accuracy."""
        seen = torch.isin(self.test[1], self.train[1].unique())
        return float(seen.double().mean())


@dataclass
class FitResult:
    status: str  # complete | diverged
    steps_done: int
    diverged_at: int | None = None
    train_losses: list[float] = field(default_factory=list)
    curve: list[dict] = field(default_factory=list)  # {"step": s, "<split>_<metric>": value}


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg) -> torch.optim.Optimizer:
    """Build the optimizer conf/optim/<name>.yaml describes (no _target_: claims stay data)."""
    if cfg.name == "adam":
        return torch.optim.Adam(
            params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    raise ValueError(f"unknown optim.name {cfg.name!r} (adam, sgd)")


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


def evaluate_splits(model: torch.nn.Module, splits: Splits, evaluate: Evaluate) -> dict:
    """{"val_accuracy": ..., "test_loss": ...}: every metric of every held-out split."""
    out = {}
    for name, (x, y) in splits.named().items():
        out |= {f"{name}_{k}": v for k, v in evaluate(model, x, y).items()}
    return out


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    splits: Splits,
    *,
    steps: int,
    batch_size: int,
    eval_every: int,
    generator: torch.Generator | None,
    evaluate: Evaluate,
) -> FitResult:
    """Train for `steps` minibatches sampled with replacement; stop early only on divergence.

    generator=None draws batches from torch's global generator (the authors' scripts do);
    otherwise from the given one, so batch order does not depend on how init consumed numbers.
    """
    x_train, y_train = splits.train
    n = len(y_train)
    result = FitResult(status="complete", steps_done=0)
    result.curve.append({"step": 0} | evaluate_splits(model, splits, evaluate))
    model.train()
    for step in range(1, steps + 1):
        idx = torch.randint(0, n, (batch_size,), generator=generator)
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        value = loss.item()
        if not math.isfinite(value):
            result.status, result.diverged_at = "diverged", step
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        result.train_losses.append(value)
        result.steps_done = step
        if step % eval_every == 0 or step == steps:
            result.curve.append({"step": step} | evaluate_splits(model, splits, evaluate))
    return result
