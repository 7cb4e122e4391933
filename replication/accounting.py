"""Parameters and FLOPs of a model, the raw material of every parity receipt.

FLOPs come from torch.utils.flop_counter, which counts matrix products (mm, addmm, bmm,
convolutions, attention) from shapes and counts elementwise ops (activations, softmax, sums)
as zero. Reports say so next to the number.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from replication.models.activations import OPS_PER_ELEMENT, Activation

FLOPS_NOTE = (
    "torch.utils.flop_counter: matrix products only (attention through the math path); "
    "elementwise ops count as 0"
)


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_trained_params(model: torch.nn.Module) -> int:
    """Parameters that received a gradient in the last backward pass (call after training)."""
    return sum(p.numel() for p in model.parameters() if p.grad is not None)


def count_flops(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> dict:
    """FLOPs per example of a forward pass and of a training step (forward + backward), and
    the activation's elementwise work per example (elements x the authors' ops per element).

    Works on a copy under a forked RNG so counting cannot change the run it describes.
    """
    probe = copy.deepcopy(model)
    elements = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: elements.append((m.name, o.numel())))
        for m in probe.modules()
        if isinstance(m, Activation)
    ]
    # The math attention path: fused SDPA kernels (e.g. CPU flash attention, taken only when
    # dropout is off) are invisible to the counter, which would make dropout look costly.
    with torch.random.fork_rng(devices=[]), sdpa_kernel(SDPBackend.MATH):
        with FlopCounterMode(display=False) as fwd, torch.no_grad():
            probe(x)
        for h in hooks:
            h.remove()
        with FlopCounterMode(display=False) as step:
            loss(probe(x), y).backward()
    n = len(x)
    act_ops = sum(OPS_PER_ELEMENT.get(name, 0) * count for name, count in elements)
    return {
        "flops_per_example_forward": fwd.get_total_flops() / n,
        "flops_per_example_train": step.get_total_flops() / n,
        "act_elements_per_example": sum(c for _, c in elements) / n,
        "act_ops_per_example": act_ops / n,
    }
