"""Causal self-attention for the char LM, nanoGPT style, with heads split into groups.

One qkv projection and one output projection (bias optional: the hen5 script has none, the
H-EE-10 script has both); the heads are then split, in order, into
- full heads: ordinary causal attention (F.scaled_dot_product_attention, is_causal);
- local heads: causal sliding window, each query sees its `window` latest keys (itself
  included). Vectorised by blocks, no loop over positions: queries are cut into blocks of
  `window`, and each block attends to its own block and the one before (2 x window keys, the
  ones outside the window masked). So a local head does 2 x window scores per query, not
  `window`: the executed cost, which the FLOP counter sees and the report states;
- global heads: each query sees two keys, the first token and itself. The authors' (non-causal
  classifier) global heads see the first and the last token; under a causal mask the latest
  token a query may see is its own.

Egyptian attention (egyptian-attn) is 6 full + 4 local + 2 global of 12; all-full heads are the
baseline. `flops_hand` is the hand count the unit test checks torch's counter against.

causal=False is the authors' classifier (egyptian-attn faithful protocol, sequences of 28): no
causal mask, local heads see |i - j| <= window // 2 through a band mask over the full score
matrix (their implementation, so it saves nothing), global heads see the first and last token.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    def __init__(
        self,
        d: int,
        heads: int,
        *,
        bias: bool = True,
        dropout: float = 0.0,
        local: int = 0,
        global_heads: int = 0,
        window: int = 64,
        causal: bool = True,
    ) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"model.d_model ({d}) must divide by n_heads ({heads})")
        if local < 0 or global_heads < 0 or local + global_heads > heads:
            raise ValueError(
                f"model.attn: local ({local}) + global ({global_heads}) heads must be between 0 "
                f"and n_heads ({heads})"
            )
        if window < 1:
            raise ValueError(f"model.attn.window must be >= 1, got {window}")
        self.heads, self.head_dim = heads, d // heads
        self.n_local, self.n_global = local, global_heads
        self.n_full = heads - local - global_heads
        self.window, self.dropout, self.causal = window, dropout, causal
        self.qkv = nn.Linear(d, 3 * d, bias=bias)
        self.proj = nn.Linear(d, d, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = (
            z.view(b, t, self.heads, self.head_dim).transpose(1, 2)
            for z in self.qkv(x).split(c, dim=2)
        )
        p = self.dropout if self.training else 0.0
        groups = []
        f, lo = self.n_full, self.n_full + self.n_local
        sdpa = F.scaled_dot_product_attention
        if self.n_full:
            groups.append(sdpa(q[:, :f], k[:, :f], v[:, :f], dropout_p=p, is_causal=self.causal))
        if self.n_local and self.causal:
            groups.append(local_attention(q[:, f:lo], k[:, f:lo], v[:, f:lo], self.window, p))
        elif self.n_local:
            i = torch.arange(t, device=x.device)
            band = (i.view(-1, 1) - i.view(1, -1)).abs() <= self.window // 2
            groups.append(sdpa(q[:, f:lo], k[:, f:lo], v[:, f:lo], attn_mask=band, dropout_p=p))
        if self.n_global:
            last = k.shape[2] - 1 if not self.causal else None
            groups.append(global_attention(q[:, lo:], k[:, lo:], v[:, lo:], p, last))
        y = torch.cat(groups, dim=1) if len(groups) > 1 else groups[0]
        return self.proj(y.transpose(1, 2).reshape(b, t, c))

    def flops_hand(self, t: int) -> int:
        """Forward matmul FLOPs per sequence of t tokens (2 per multiply-add), counted the way
        torch's counter does: projections, then per head its score and value products (full
        heads t x t, the causal half included, as the math path computes it)."""
        d, hd = self.heads * self.head_dim, self.head_dim
        proj = 2 * t * d * 3 * d + 2 * t * d * d
        w = min(self.window, t)
        keys = {
            "full": t,
            # causal: own block and the one before, padded to whole blocks; non-causal: the
            # authors' band mask over the full score matrix
            "local": 2 * w if self.causal else t,
            "global": 2,
        }
        per_head = {name: 2 * 2 * hd * n for name, n in keys.items()}  # scores + values
        tl = math.ceil(t / w) * w if self.causal else t  # queries padded to whole blocks
        return (
            proj
            + self.n_full * t * per_head["full"]
            + self.n_local * tl * per_head["local"]
            + self.n_global * t * per_head["global"]
        )


def local_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, dropout: float = 0.0
) -> torch.Tensor:
    """Causal sliding-window attention over (B, H, T, D): query i sees keys i-window+1 .. i."""
    b, h, t, d = q.shape
    w = min(window, t)
    n = math.ceil(t / w)
    pad = n * w - t
    # blocks of w queries; keys: one block of zeros in front, so block j sees blocks j-1 and j
    qb = F.pad(q, (0, 0, 0, pad)).view(b, h, n, w, d)
    kp, vp = (F.pad(z, (0, 0, w, pad)).view(b, h, n + 1, w, d) for z in (k, v))
    kb, vb = (torch.cat([z[:, :, :-1], z[:, :, 1:]], dim=3) for z in (kp, vp))  # (b,h,n,2w,d)
    scores = (qb @ kb.transpose(-2, -1)) / math.sqrt(d)  # (b, h, n, w, 2w)
    i = torch.arange(w, device=q.device).view(w, 1) + w  # query's slot among the 2w keys
    j = torch.arange(2 * w, device=q.device).view(1, 2 * w)
    block = torch.arange(n, device=q.device).view(n, 1, 1)
    allowed = (j <= i) & (j > i - w) & ((block > 0) | (j >= w))  # block 0: no keys in front
    probs = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
    probs = F.dropout(probs, dropout) if dropout else probs
    return (probs @ vb).view(b, h, n * w, d)[:, :, :t]


def global_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    dropout: float = 0.0,
    last: int | None = None,
) -> torch.Tensor:
    """Each query attends to two keys: the first token and its own (causal), or the first and
    the `last` token (the authors' non-causal global heads)."""
    b, h, t, d = q.shape

    def pair(z: torch.Tensor) -> torch.Tensor:  # (b, h, t, 2, d)
        second = z if last is None else z[:, :, last : last + 1].expand(b, h, t, d)
        return torch.stack([z[:, :, :1].expand(b, h, t, d), second], dim=3)

    kg, vg = pair(k), pair(v)
    scores = (q.unsqueeze(3) @ kg.transpose(-2, -1)) / math.sqrt(d)  # (b, h, t, 1, 2)
    probs = scores.softmax(dim=-1)
    probs = F.dropout(probs, dropout) if dropout else probs
    return (probs @ vg).squeeze(3)
