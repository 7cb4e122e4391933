"""Activation functions, by name, shared by every model (conf: model.act, model.act_params).

The "n = 6" activations are written as the authors define them (claims-forensics §1, §5;
protocol-details §1, §3). OPS_PER_ELEMENT is the authors' own hand count of operations per
scalar (hen9's FLOP_COUNT table); torch.utils.flop_counter counts none of these, so reports
that put an activation's FLOPs next to a model's use this table and say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

Fn = Callable[[torch.Tensor], torch.Tensor]

LN_4_3 = math.log(4 / 3)  # GZActivation's w, and Mertens' dropout rate


def phi6_simple(x: torch.Tensor) -> torch.Tensor:
    """Phi6Simple: c^2 - c + 1 with c = clamp(x, -2, 2); range [0.75, 7]."""
    c = x.clamp(-2.0, 2.0)
    return c * c - c + 1.0


def phi6_norm(x: torch.Tensor) -> torch.Tensor:
    """(x^2 - x + 1) / (1 + x^2), unclamped (hen9's Phi6_norm)."""
    return (x * x - x + 1.0) / (1.0 + x * x)


def vertex(v: float) -> Fn:
    """A shifted square (x - v)^2: ZetaLn2 is v = 5/12, Phi6Centered v = 1/2. Unclamped."""
    return lambda x: (x - v) * (x - v)


def gz(w: float = LN_4_3) -> Fn:
    """GZActivation x^2 - w x."""
    return lambda x: x * x - w * x


FACTORIES: dict[str, Callable[..., Fn]] = {
    "gelu": lambda: F.gelu,
    "gelu_tanh": lambda: lambda x: F.gelu(x, approximate="tanh"),
    "relu": lambda: F.relu,
    "silu": lambda: F.silu,
    "phi6_simple": lambda: phi6_simple,
    "phi6_norm": lambda: phi6_norm,
    "zetaln2": lambda: vertex(5 / 12),
    "phi6_centered": lambda: vertex(0.5),
    "vertex": vertex,  # act_params: {v: ...}, the random-vertex control
    "gz": gz,
}

# The authors' hand-assigned operations per scalar (hen9 FLOP_COUNT); the quadratic units
# they add later cost about the same as Phi6Simple (a multiply, a subtract, an add).
OPS_PER_ELEMENT = {
    "gelu": 14,
    "gelu_tanh": 14,
    "relu": 1,
    "silu": 5,
    "phi6_norm": 6,
    "phi6_simple": 4,
    "zetaln2": 3,
    "phi6_centered": 3,
    "vertex": 3,
    "gz": 3,
}


def get(name: str, **params) -> Fn:
    if name not in FACTORIES:
        raise ValueError(f"unknown activation {name!r} (known: {', '.join(sorted(FACTORIES))})")
    return FACTORIES[name](**params)


class Activation(nn.Module):
    """An activation as a module, so models can hold it and hooks can see its output."""

    def __init__(self, name: str, **params) -> None:
        super().__init__()
        self.name, self.params = name, params
        self.fn = get(name, **params)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name + (f", {self.params}" if self.params else "")
