"""Image classification on 28x28 grey-scale digits or clothes, trained epoch by epoch.

Data (replication/data/images.py): "mnist5k" (4,000 train / 1,000 test, a fixed stratified
split of 5,000 real MNIST digits) or "fashion_mnist" (the official 60,000 / 10,000). Pixels are
flattened to 784 and normalised as (x / 255 - mean) / std, torchvision's ToTensor then
Normalize. The defaults are the authors' MNIST constants (0.1307, 0.3081), which is what their
script applies; for Fashion-MNIST they stay the default too (the script with its data set
swapped would apply them), and the data set's own constants (0.2860, 0.3530) are one override
away.

val_frac > 0 carves a stratified validation split out of the training rows, drawn from the
run seed (its own stream, so it never shifts init or batches); 0 keeps every training row
(the authors' protocol, which has no validation split and reads everything off the test set).

Batches: epochs of sampling without replacement, as DataLoader(shuffle=True) does: a fresh
permutation of the training rows each epoch, cut into ceil(n / batch_size) batches, the last
one partial. Evaluation adds the mean softmax entropy of the predictions (the authors' formula),
so the curve carries val_entropy / test_entropy for the stopping rules (replication/stopping.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from replication.data.images import NAMES, load_images
from replication.tasks.base import Task
from replication.train import Splits

ENTROPY_EPS = 1e-10  # the authors': -sum p ln(p + 1e-10)


def mean_entropy(logits: torch.Tensor) -> float:
    """Mean over rows of the softmax entropy in nats, as the authors compute it."""
    p = F.softmax(logits, dim=-1)
    return float((-(p * torch.log(p + ENTROPY_EPS)).sum(dim=-1)).mean())


def epoch_order(n: int, generator: torch.Generator | None) -> torch.Tensor:
    """A permutation of n rows, drawn as DataLoader(shuffle=True) draws one per epoch.

    generator=None (train.rng=shared) consumes torch's global generator exactly as the
    authors' loader does: one number for the iterator's base seed, one to seed the sampler's
    own generator, which then draws the permutation. With a generator, it draws the
    permutation directly, as RandomSampler(generator=...) does.
    """
    if generator is None:
        torch.empty((), dtype=torch.int64).random_()  # _BaseDataLoaderIter's base seed
        seed = int(torch.empty((), dtype=torch.int64).random_().item())
        generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=generator)


@dataclass
class ImageTask(Task):
    dataset: str = "mnist5k"
    mean: float = 0.1307
    std: float = 0.3081
    val_frac: float = 0.0
    _order: tuple[int, torch.Tensor] | None = field(default=None, init=False, repr=False)
    _info: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.dataset not in NAMES:
            raise ValueError(
                f"task.dataset must be one of {', '.join(NAMES)}, got {self.dataset!r}"
            )
        if not 0 <= self.val_frac < 1:
            raise ValueError(f"task.val_frac must lie in [0, 1), got {self.val_frac}")
        if self.std <= 0:
            raise ValueError(f"task.std must be positive, got {self.std}")

    def load(self, seed: int) -> Splits:
        data = load_images(self.dataset)
        self._info = data.info
        train = np.arange(len(data.train_y))
        val = None
        if self.val_frac > 0:
            train, val = _stratified_val(data.train_y, self.val_frac, seed)
        return Splits(
            train=self._tensors(data.train_x[train], data.train_y[train]),
            test=self._tensors(data.test_x, data.test_y),
            val=None if val is None else self._tensors(data.train_x[val], data.train_y[val]),
        )

    def describe(self, splits: Splits) -> dict:
        info = self._info or load_images(self.dataset).info
        keep = ("name", "source", "license", "sha256", "loader")
        parts = {"train": splits.train, "val": splits.val, "test": splits.test}
        sizes = {f"n_{k}": 0 if v is None else len(v[1]) for k, v in parts.items()}
        return {k: info[k] for k in keep} | sizes

    def _tensors(self, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = torch.from_numpy(x.astype(np.float32)) / 255.0  # ToTensor
        return (pixels - self.mean) / self.std, torch.from_numpy(y.astype(np.int64))

    @staticmethod
    def steps_per_epoch(splits: Splits, batch_size: int) -> int:
        return math.ceil(len(splits.train[1]) / batch_size)

    def batch(
        self, splits: Splits, step: int, batch_size: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch (step - 1) mod steps_per_epoch of the current epoch's permutation (step is
        1-based); the first step of each epoch draws that epoch's permutation."""
        x, y = splits.train
        per_epoch = self.steps_per_epoch(splits, batch_size)
        epoch, pos = divmod(step - 1, per_epoch)
        if pos == 0:
            self._order = (epoch, epoch_order(len(y), generator))
        elif self._order is None or self._order[0] != epoch:
            raise RuntimeError(f"step {step}: batches must be drawn in order, epoch by epoch")
        idx = self._order[1][pos * batch_size : (pos + 1) * batch_size]
        return x[idx], y[idx]

    def evaluate(self, model: torch.nn.Module, split: Any) -> dict:
        """Loss, accuracy and mean softmax entropy in eval mode (dropout off)."""
        x, y = split
        was_training = model.training
        model.eval()
        with torch.no_grad():
            logits = model(x)
        model.train(was_training)
        return {
            "loss": float(F.cross_entropy(logits, y)),
            "accuracy": float((logits.argmax(dim=-1) == y).float().mean()),
            "entropy": mean_entropy(logits),
        }


def _stratified_val(y: np.ndarray, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows): round(n_c * val_frac) rows of each class held out."""
    rng = np.random.default_rng([seed, 2])  # its own stream, as the spiral task's split
    held = [
        rng.permutation(rows)[: round(len(rows) * val_frac)]
        for rows in (np.flatnonzero(y == c) for c in np.unique(y))
    ]
    held = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(y)), held), held
