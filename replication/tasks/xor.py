"""Sign-XOR (H-EE-17): label 1 when exactly one of two N(0, 1) coordinates is positive.

authors: 200 points from numpy's legacy generator seeded with 42 (float32), no held-out data
(the test split is the training set), full-batch gradient descent, a sigmoid output with the
logit clipped to +-20 and a binary cross-entropy with eps 1e-7. heldout: train and test points
drawn from the run seed, the test set 10x larger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from replication.tasks.base import Task
from replication.train import Splits


def _points(x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.float32)[:, None]
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)


def authors_bce(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(z.clamp(-20.0, 20.0))
    return -(y * torch.log(p + 1e-7) + (1 - y) * torch.log(1 - p + 1e-7)).mean()


@dataclass
class SignXorTask(Task):
    split: str = "authors"  # authors | heldout
    n_train: int = 200
    n_test: int = 2000
    data_seed: int = 42  # authors only

    def __post_init__(self) -> None:
        if self.split not in ("authors", "heldout"):
            raise ValueError(f"task.split must be authors or heldout, got {self.split!r}")

    def load(self, seed: int) -> Splits:
        if self.split == "authors":
            np.random.seed(self.data_seed)  # the authors' global legacy generator
            train = _points(np.random.randn(self.n_train, 2))
            return Splits(train=train, test=train)
        rng = np.random.default_rng([seed, 3])
        train = _points(rng.standard_normal((self.n_train, 2)))
        val = _points(rng.standard_normal((self.n_test, 2)))
        test = _points(rng.standard_normal((self.n_test, 2)))
        return Splits(train=train, val=val, test=test)

    def batch(
        self, splits: Splits, step: int, batch_size: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Full-batch gradient descent: every training point at every step."""
        return splits.train

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return authors_bce(out, y.to(out.dtype))

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split) -> dict:
        x, y = split
        z = model(x)
        return {
            "loss": float(authors_bce(z, y.to(z.dtype))),
            "accuracy": float(((z > 0).to(y.dtype) == y).double().mean()),
        }

    def final_metrics(self, model: torch.nn.Module, splits: Splits) -> dict:
        return {}
