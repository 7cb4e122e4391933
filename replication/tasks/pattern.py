"""hen9's pattern task (H-EE-1): 32 classes, four hidden permutations, fixed batches.

Each batch draws one of four permutations of {0..31} (identity, roll by 3, x3 mod 32, x5 mod
32) and 64 indices; the input is the one-hot index plus N(0, 0.05^2) noise and the target is
the permuted index. The permutation is not in the input, so the best possible loss is the
entropy of the four candidates (bayes_loss, 1.313 nats; chance is ln 32 = 3.466).

Draw order follows the authors' generator (default_rng, per batch: pattern, 64 indices, 64x32
normals). authors: one corpus from default_rng(corpus_seed) cycled in order, and no held-out
data. heldout: the training batches come from the run seed and validation/test batches from
their own streams, drawn like the training batches (each of `heldout_batches` batches draws its
own pattern, so a set of 50 holds 50 pattern draws and its loss depends on which came up).
stratified (the audit's): the same training batches, and validation/test sets of
`heldout_batches` x `rows` rows from their own streams in which every (pattern, index) cell
occurs equally often, with fresh noise: the task's mixture exactly, not a sample of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from replication.tasks.base import Task
from replication.train import Splits

N = 32
PATTERNS = np.stack(
    [np.arange(N), np.roll(np.arange(N), 3), 3 * np.arange(N) % N, 5 * np.arange(N) % N]
)


def make_batches(
    rng: np.random.Generator, n_batches: int, rows: int, noise: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_batches, rows, 32) float64 inputs and (n_batches, rows) targets."""
    xs, ys = [], []
    for _ in range(n_batches):
        pat = rng.integers(0, len(PATTERNS))
        idx = rng.integers(0, N, rows)
        x = np.eye(N)[idx] + rng.standard_normal((rows, N)) * noise
        xs.append(x)
        ys.append(PATTERNS[pat][idx])
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)).long()


def make_stratified(
    rng: np.random.Generator, n_rows: int, noise: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_rows, 32) float64 inputs and (n_rows,) targets in which every (pattern, index) cell
    occurs n_rows / 128 times (pattern-major order), plus N(0, noise^2) noise from `rng`."""
    cells = len(PATTERNS) * N
    if n_rows % cells:
        raise ValueError(f"a stratified set needs a multiple of {cells} rows, got {n_rows}")
    reps = n_rows // cells
    pat = np.repeat(np.arange(len(PATTERNS)), N * reps)
    idx = np.tile(np.repeat(np.arange(N), reps), len(PATTERNS))
    x = np.eye(N)[idx] + rng.standard_normal((n_rows, N)) * noise
    return torch.from_numpy(x), torch.from_numpy(PATTERNS[pat, idx]).long()


def bayes_loss() -> float:
    """Mean entropy of the target given the index, over uniform indices and patterns."""
    total = 0.0
    for i in range(N):
        _, counts = np.unique(PATTERNS[:, i], return_counts=True)
        p = counts / counts.sum()
        total += -(p * np.log(p)).sum()
    return float(total / N)


def authors_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """hen9's loss: -mean log(softmax + 1e-9)."""
    p = torch.softmax(logits, dim=-1)
    return -torch.log(p.gather(-1, y.unsqueeze(-1)).squeeze(-1) + 1e-9).mean()


@dataclass
class PatternTask(Task):
    split: str = "authors"  # authors | heldout | stratified
    n_batches: int = 200
    rows: int = 64
    noise: float = 0.05
    corpus_seed: int = 0
    heldout_batches: int = 50  # size of val and test each, in batches of `rows` rows

    def __post_init__(self) -> None:
        if self.split not in ("authors", "heldout", "stratified"):
            raise ValueError(
                f"task.split must be authors, heldout or stratified, got {self.split!r}"
            )
        cells = len(PATTERNS) * N
        if self.split == "stratified" and (self.heldout_batches * self.rows) % cells:
            raise ValueError(
                f"task.split=stratified needs task.heldout_batches x task.rows to be a "
                f"multiple of {cells} (4 patterns x 32 indices), got "
                f"{self.heldout_batches} x {self.rows}"
            )

    def load(self, seed: int) -> Splits:
        if self.split == "authors":
            train = make_batches(
                np.random.default_rng(self.corpus_seed), self.n_batches, self.rows, self.noise
            )
            return Splits(train=train, test=_flat(train))
        rng = [np.random.default_rng([seed, k]) for k in range(3)]
        train = make_batches(rng[0], self.n_batches, self.rows, self.noise)
        if self.split == "stratified":
            n_rows = self.heldout_batches * self.rows
            val = make_stratified(rng[1], n_rows, self.noise)
            test = make_stratified(rng[2], n_rows, self.noise)
            return Splits(train=train, val=val, test=test)
        val = make_batches(rng[1], self.heldout_batches, self.rows, self.noise)
        test = make_batches(rng[2], self.heldout_batches, self.rows, self.noise)
        return Splits(train=train, val=_flat(val), test=_flat(test))

    def batch(
        self, splits: Splits, step: int, batch_size: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed batches in order, cycled (step s uses batch (s - 1) mod n)."""
        x, y = splits.train
        i = (step - 1) % len(x)
        return x[i], y[i]

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return authors_ce(out, y)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split) -> dict:
        x, y = split
        logits = model(x)
        return {
            "loss": float(authors_ce(logits, y)),
            "accuracy": float((logits.argmax(-1) == y).double().mean()),
        }

    def final_metrics(self, model: torch.nn.Module, splits: Splits) -> dict:
        return {"bayes_loss": bayes_loss()}


def _flat(batches: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = batches
    return x.reshape(-1, x.shape[-1]), y.reshape(-1)
