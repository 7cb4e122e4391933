"""A top-k mixture-of-experts FFN for the char LM's blocks (h-ee-10, "Phi MoE").

Each expert is Linear(d, d_ff) -> activation -> Linear(d_ff, d); a linear gate scores the
experts, softmax, keeps the top k and renormalises them (the authors' gate). Expert weights are
stacked, (E, d, d_ff) and (E, d_ff, d), and drawn expert by expert, fc1 then fc2, before the
gate, as the authors' nn.Linear modules are, so a seeded model starts from their weights.

Two dispatches, same function (up to summation order):
- loop: the authors' Python loop over the k slots and the experts, each expert run on the rows
  routed to it (time grows with the number of experts; kept for the faithful protocol);
- sorted: vectorised. Token slots are sorted by expert into an (E, C, d) buffer, C the largest
  expert load of the batch (no token is dropped), two batched matmuls, then a scatter back. Its
  executed FLOPs include the padding up to C, so an unbalanced router costs time and FLOPs.

balance > 0 adds the Switch Transformer load-balancing loss, balance x E x sum_e f_e P_e (f_e:
share of token slots routed to e, P_e: mean gate probability), as `aux_loss`, which the
training loop adds to the task loss. `last_load` keeps each forward's share of slots per
expert, for the utilisation histograms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DISPATCHES = ("loop", "sorted")


class MoEFFN(nn.Module):
    def __init__(
        self,
        d: int,
        d_ff: int,
        act: nn.Module,
        *,
        experts: int,
        top_k: int = 2,
        dispatch: str = "sorted",
        balance: float = 0.0,
    ) -> None:
        super().__init__()
        if dispatch not in DISPATCHES:
            raise ValueError(f"model.moe.dispatch must be one of {DISPATCHES}, got {dispatch!r}")
        if not 1 <= top_k <= experts:
            raise ValueError(f"model.moe.top_k must be in 1..experts ({experts}), got {top_k}")
        if balance < 0:
            raise ValueError(f"model.moe.balance must be >= 0, got {balance}")
        fc = [(nn.Linear(d, d_ff), nn.Linear(d_ff, d)) for _ in range(experts)]
        self.w1 = nn.Parameter(torch.stack([a.weight.T for a, _ in fc]).contiguous())
        self.b1 = nn.Parameter(torch.stack([a.bias for a, _ in fc]).unsqueeze(1))
        self.w2 = nn.Parameter(torch.stack([b.weight.T for _, b in fc]).contiguous())
        self.b2 = nn.Parameter(torch.stack([b.bias for _, b in fc]).unsqueeze(1))
        self.gate = nn.Linear(d, experts)
        self.act, self.experts, self.top_k = act, experts, top_k
        self.dispatch, self.balance = dispatch, balance
        self.aux_loss: torch.Tensor | None = None
        self.last_load: torch.Tensor | None = None

    def expert(self, e: int, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.b2[e], self.act(torch.addmm(self.b1[e], x, self.w1[e])), self.w2[e])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        probs = F.softmax(self.gate(x), dim=-1)
        top_p, top_i = torch.topk(probs, self.top_k, dim=-1)
        top_p = top_p / top_p.sum(dim=-1, keepdim=True)
        counts = torch.bincount(top_i.reshape(-1), minlength=self.experts)
        self.last_load = (counts.double() / top_i.numel()).detach()
        if self.balance:
            share = counts.to(probs.dtype) / top_i.numel()
            self.aux_loss = self.balance * self.experts * (share * probs.mean(dim=0)).sum()
        else:
            self.aux_loss = None
        run = self._loop if self.dispatch == "loop" else self._sorted
        return run(x, top_p, top_i, counts).reshape(shape)

    def _loop(self, x, top_p, top_i, counts) -> torch.Tensor:
        out = torch.zeros_like(x)
        for k in range(self.top_k):
            for e in range(self.experts):
                mask = top_i[:, k] == e
                if mask.any():
                    out[mask] += top_p[mask, k : k + 1] * self.expert(e, x[mask])
        return out

    def _sorted(self, x, top_p, top_i, counts) -> torch.Tensor:
        n, d = x.shape
        flat_e = top_i.reshape(-1)
        order = torch.argsort(flat_e, stable=True)
        e_sorted = flat_e[order]
        token = order // self.top_k  # slot -> its token row
        start = torch.cumsum(counts, 0) - counts
        slot = torch.arange(len(order), device=x.device) - start[e_sorted]
        cap = int(counts.max())
        buf = x.new_zeros(self.experts, cap, d)
        buf[e_sorted, slot] = x[token]
        h = self.act(torch.baddbmm(self.b1, buf, self.w1))
        y = torch.baddbmm(self.b2, h, self.w2)[e_sorted, slot]
        weight = top_p.reshape(-1)[order].unsqueeze(1)
        return x.new_zeros(n, d).index_add(0, token, (y * weight).to(x.dtype))

    def flops_hand(self, load: torch.Tensor) -> int:
        """Forward matmul FLOPs for per-expert slot counts `load` (2 per multiply-add): the
        gate, then the two expert matmuls on each expert's rows (loop) or on C rows for every
        expert (sorted, C the largest count)."""
        d, d_ff = self.w1.shape[1], self.w1.shape[2]
        tokens = int(load.sum()) // self.top_k
        rows = int(load.sum()) if self.dispatch == "loop" else self.experts * int(load.max())
        return 2 * tokens * d * self.experts + rows * 2 * 2 * d * d_ff

    def active_params(self) -> int:
        """Weights a token uses (the authors' count: k experts' matrices plus the gate's, no
        biases)."""
        d, d_ff = self.w1.shape[1], self.w1.shape[2]
        return self.top_k * 2 * d * d_ff + d * self.experts
