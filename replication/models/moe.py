"""A dense mixture of MLP experts with a linear classifier head (the H-EE-18 model).

Module construction order (experts, router, classifier) fixes how the seeded generator is
consumed, so every arm of a claim starts from identical weights; the authors' script builds
its modules in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from replication.models.routing import make_routing


class MoEClassifier(nn.Module):
    def __init__(
        self,
        in_features: int,
        n_classes: int,
        router: Mapping,
        n_experts: int = 3,
        expert_hidden: int = 32,
        expert_out: int = 32,
    ) -> None:
        super().__init__()
        self.experts = nn.ModuleList(
            nn.Sequential(
                nn.Linear(in_features, expert_hidden),
                nn.ReLU(),
                nn.Linear(expert_hidden, expert_out),
            )
            for _ in range(n_experts)
        )
        self.router = nn.Linear(in_features, n_experts)  # built in every arm, used by some
        self.classifier = nn.Linear(expert_out, n_classes)
        self.routing = make_routing(router, n_experts)

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """Expert weights per row, (B, n_experts)."""
        return self.routing(self.router(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.route(x)  # (B, E)
        outs = torch.stack([e(x) for e in self.experts], dim=1)  # (B, E, D): all experts run
        h = (outs * weights.unsqueeze(-1)).sum(dim=1)  # (B, D)
        return self.classifier(F.relu(h))

    @torch.no_grad()
    def diagnostics(self, x: torch.Tensor) -> dict[str, float | list[float] | None]:
        """Routing statistics on x: the authors' entropy and two that can show collapse."""
        w = self.route(x)
        n = w.shape[-1]
        mean_w = w.mean(dim=0)
        # "load": share of rows each expert leads; undefined when a row's weights tie (equal)
        led = w.max(dim=-1).values > w.min(dim=-1).values
        load = torch.bincount(w[led].argmax(dim=-1), minlength=n).double() / max(int(led.sum()), 1)
        return {
            "routing_mean_weights": [float(v) for v in mean_w],
            "routing_entropy": float(_entropy(mean_w)) / math.log(n),
            "routing_sample_entropy": float(_entropy(w).mean()) / math.log(n),
            "routing_load_entropy": float(_entropy(load)) / math.log(n) if led.any() else None,
        }


def _entropy(p: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) over the last axis; clipped at 1e-10 as the authors do."""
    p = p.double().clamp_min(1e-10)
    return -(p * p.log()).sum(dim=-1)
