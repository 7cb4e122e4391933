"""The difference of two independent MLP branches: logits = A(x) - G(x).

The authors' PureFieldEngine (TECS-L, experiments/experiment_h_sedi_ee_1_entropy_early_stop.py)
under a name that says what it is: branches A and G, each Linear(784, 128) -> ReLU ->
Dropout(0.3) -> Linear(128, 10), no weights shared; 2 x 101,770 = 203,540 parameters at the
authors' sizes. Each branch is an MLP (replication/models/mlp.py), so the layers, dropout and
activation are the same code as every other MLP arm.

Initialisation: PyTorch's defaults under the run's torch seed, in the authors' order (A's
first layer, A's second, then G's), which is the order the branches are built in here; that is
the only init the authors' script has, so `init.kind` accepts only "torch".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from replication.models.mlp import MLP


class TwinMLP(nn.Module):
    def __init__(
        self,
        sizes: Sequence[int] = (784, 128, 10),
        act: str = "relu",
        dropout: float = 0.3,
        init: Mapping | None = None,
        run_seed: int = 0,
    ) -> None:
        super().__init__()
        kind = dict(init or {}).get("kind", "torch")
        if kind != "torch":
            raise ValueError(f"model.init.kind must be torch for TwinMLP, got {kind!r}")
        # built A then G: torch's default init draws their weights in this order
        self.a = MLP(sizes, act, dropout=dropout, run_seed=run_seed)
        self.g = MLP(sizes, act, dropout=dropout, run_seed=run_seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x) - self.g(x)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
