"""A plain multilayer perceptron with a named activation between layers.

Covers the authors' small nets: hen9 / H-EE-1's 32 -> 128 -> 32 (float64, weights drawn from
numpy), H-EE-17's 2 -> 16 -> 1 on sign-XOR, and an MLP on the spiral for the audits.

Initialisation (`init.kind`):
- torch: PyTorch's defaults under the run's torch seed.
- numpy_he: W = N(0, 1) * sqrt(2 / fan_in) as numpy.random.default_rng(seed) draws a
  (fan_in, fan_out) array, after discarding `skip` normals; biases 0 (hen9 and H-EE-1; hen9's
  shared generator is reproduced by `skip`, see claims/h-ee-1.yaml).
- numpy_legacy: numpy.random.seed(seed), then randn(fan_in, fan_out) * sqrt(2 / fan_in) per
  layer, float32; biases 0 (H-EE-17). `seed: null` uses the run seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from replication.models.activations import Activation

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class MLP(nn.Module):
    def __init__(
        self,
        sizes: Sequence[int],
        act: str,
        act_params: Mapping | None = None,
        init: Mapping | None = None,
        dtype: str = "float32",
        run_seed: int = 0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"model.sizes needs at least an input and an output, got {sizes}")
        self.layers = nn.ModuleList(
            nn.Linear(a, b, dtype=DTYPES[dtype]) for a, b in itertools.pairwise(sizes)
        )
        self.act = Activation(act, **dict(act_params or {}))
        self.drop = nn.Dropout(dropout)  # after each hidden activation
        _initialise(self.layers, dict(init or {"kind": "torch"}), run_seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.layers[0].weight.dtype)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.drop(self.act(x))
        return x


@torch.no_grad()
def _initialise(layers: nn.ModuleList, init: dict, run_seed: int) -> None:
    kind = init.get("kind", "torch")
    if kind == "torch":
        return
    seed = init.get("seed")
    seed = run_seed if seed is None else int(seed)
    if kind == "numpy_he":
        rng = np.random.default_rng(seed)
        rng.standard_normal(int(init.get("skip", 0)))  # what the authors' shared stream used up
        draws = [rng.standard_normal((m.in_features, m.out_features)) for m in layers]
    elif kind == "numpy_legacy":
        np.random.seed(seed)  # the authors' global legacy generator
        draws = [np.random.randn(m.in_features, m.out_features).astype(np.float32) for m in layers]
    else:
        raise ValueError(f"unknown model.init.kind {kind!r} (torch, numpy_he, numpy_legacy)")
    for layer, w in zip(layers, draws, strict=True):
        scaled = w * np.sqrt(2.0 / layer.in_features)  # a numpy float64, as the authors had
        layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(scaled.T)))
        layer.bias.zero_()
