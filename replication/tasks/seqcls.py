"""The synthetic sequence task egyptian_attention.py silently falls back to (egyptian-attn).

The authors' script means to classify MNIST digits as 28 rows of 28 pixels, but its call to
load_mnist() raises (it unpacks two loaders into four names) and the except branch trains on
this instead: train x = randn(5000, 28, 28), test x = randn(1000, 28, 28), label = whether the
mean of the first 14 rows is positive (docs/sources/egyptian-attn.md). The draws are the
script's, whatever the run seed: torch.manual_seed(42) at import, then the module-level
EgyptianFractionAttention(84) (two Linear layers) consumes the generator before the data is
drawn. Batches are the script's: a torch.randperm of the training rows per epoch from the
global generator (train.rng=shared), cut into batches of 128. The script has no validation
split; val is the test split, as there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from replication.tasks.base import Task
from replication.train import Splits

AUTHORS_SEED = 42
AUTHORS_DIM = 84  # the module-level attention the script builds before drawing the data


@dataclass
class SyntheticSeqTask(Task):
    seq_len: int = 28
    n_train: int = 5000
    n_test: int = 1000

    def __post_init__(self) -> None:
        if self.seq_len < 2 or self.n_train < 1 or self.n_test < 1:
            raise ValueError("task: seq_len >= 2, n_train and n_test >= 1")
        self._order: tuple[int, torch.Tensor] | None = None

    def load(self, seed: int) -> Splits:
        s = self.seq_len
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(AUTHORS_SEED)
            nn.Linear(AUTHORS_DIM, 3 * AUTHORS_DIM), nn.Linear(AUTHORS_DIM, AUTHORS_DIM)
            train_x, test_x = torch.randn(self.n_train, s, s), torch.randn(self.n_test, s, s)
        train = (train_x, (train_x[:, : s // 2].mean(dim=(1, 2)) > 0).long())
        test = (test_x, (test_x[:, : s // 2].mean(dim=(1, 2)) > 0).long())
        return Splits(train=train, val=test, test=test)

    @staticmethod
    def steps_per_epoch(splits: Splits, batch_size: int) -> int:
        return math.ceil(len(splits.train[1]) / batch_size)

    def batch(
        self, splits: Splits, step: int, batch_size: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The authors' epochs: a fresh randperm at the first step of each epoch."""
        x, y = splits.train
        epoch, pos = divmod(step - 1, self.steps_per_epoch(splits, batch_size))
        if pos == 0:
            self._order = (epoch, torch.randperm(len(y), generator=generator))
        elif self._order is None or self._order[0] != epoch:
            raise RuntimeError(f"step {step}: batches must be drawn in order, epoch by epoch")
        idx = self._order[1][pos * batch_size : (pos + 1) * batch_size]
        return x[idx], y[idx]

    def final_metrics(self, model: torch.nn.Module, splits: Splits) -> dict:
        return {}
