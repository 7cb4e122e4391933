"""Routing rules: router logits (B, n_experts) -> per-row expert weights (B, n_experts).

Shared by every mixture-of-experts model. Each rule is a pure function so that a claim's arms
differ only in the rule named in conf/model/router/*.yaml.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

RoutingFn = Callable[[torch.Tensor], torch.Tensor]


def equal(logits: torch.Tensor) -> torch.Tensor:
    """1/n for every expert; ignores the logits, so the router gets no gradient."""
    n = logits.shape[-1]
    return torch.full_like(logits, 1.0 / n)


def ranked(logits: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
    """Fixed weights by logit rank: the top-ranked expert gets weights[0], and so on.

    argsort is not differentiable, so the router receives no gradient: this is how the
    authors' "egyptian" routing behaves, kept as is.
    """
    order = logits.argsort(dim=-1, descending=True)  # (B, n) expert index per rank
    w = torch.tensor(list(weights), dtype=logits.dtype, device=logits.device)
    return torch.zeros_like(logits).scatter(1, order, w.expand_as(logits))


def softmax(logits: torch.Tensor) -> torch.Tensor:
    return F.softmax(logits, dim=-1)


def topk(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Softmax over the k largest logits, zero for the rest (learned, sparse)."""
    vals, idx = logits.topk(k, dim=-1)
    return torch.zeros_like(logits).scatter(1, idx, F.softmax(vals, dim=-1))


def make_routing(spec: Mapping, n_experts: int) -> RoutingFn:
    """Turn a conf/model/router entry into a routing function; rejects bad specs by name."""
    kind = spec.get("kind")
    if kind == "equal":
        return equal
    if kind == "softmax":
        return softmax
    if kind == "ranked":
        weights = [float(w) for w in spec["weights"]]
        if len(weights) != n_experts:
            raise ValueError(f"router.weights has {len(weights)} values for {n_experts} experts")
        if abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"router.weights must sum to 1, got {sum(weights)}")
        return lambda logits: ranked(logits, weights)
    if kind == "topk":
        k = int(spec["k"])
        if not 1 <= k <= n_experts:
            raise ValueError(f"router.k must be in 1..{n_experts}, got {k}")
        return lambda logits: topk(logits, k)
    raise ValueError(f"unknown router.kind {kind!r} (equal, ranked, softmax, topk)")
