"""What a task gives the training loop: data splits, minibatches, a loss and evaluation.

The defaults are those of supervised classification on a table of rows (x, y); a task
overrides what differs (the pattern task cycles through fixed batches, the language-model task
samples windows of text, sign-XOR trains on the full batch with a sigmoid loss).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from replication.train import Splits, classification_metrics


class Task:
    def load(self, seed: int) -> Splits:
        raise NotImplementedError

    def batch(
        self, splits: Splits, step: int, batch_size: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows drawn uniformly with replacement (step is 1-based)."""
        x, y = splits.train
        idx = torch.randint(0, len(y), (batch_size,), generator=generator)
        return x[idx], y[idx]

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y)

    def evaluate(self, model: torch.nn.Module, split: Any) -> dict:
        """Metrics on one held-out split; keys get the split's name as a prefix."""
        return classification_metrics(model, *split)

    def final_metrics(self, model: torch.nn.Module, splits: Splits) -> dict:
        """Anything beyond the held-out metrics that the record should carry."""
        return {"test_ceiling": splits.test_ceiling()}

    def describe(self, splits: Splits) -> dict:
        """The data a run used (name, source, checksum, rows per split), for the report's
        first lines; {} for tasks that generate their data."""
        return {}

    def diagnostic_input(self, splits: Splits) -> torch.Tensor:
        """The inputs a model's diagnostics() (routing, sparsity) are measured on."""
        return splits.test[0]
