"""The authors' sequence classifier for Egyptian attention (egyptian-attn faithful protocol).

n6-architecture techniques/egyptian_attention.py (MiniTransformer): each of the S rows of an
input (B, S, F) is a token, projected by Linear(F, d), plus a learned position table drawn as
randn(1, S, d) x 0.02; pre-LN blocks x = x + attn(LN1(x)), x = x + FFN(LN2(x)) with FFN
Linear(d, d * 4 // 3) -> GELU -> Linear; mean over tokens; a linear head. No causal mask.
Modules are built in the authors' order (embedding, positions, then per block the attention
first, since their factory runs before the block's own layers, then LN1, FFN, LN2; the head
last), so a seeded model starts from their weights.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from replication.models.attention import SelfAttention


class SeqBlock(nn.Module):
    def __init__(self, d: int, attn: nn.Module) -> None:
        super().__init__()
        self.attn = attn
        self.norm1 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, d * 4 // 3), nn.GELU(), nn.Linear(d * 4 // 3, d))
        self.norm2 = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class SeqClassifier(nn.Module):
    def __init__(
        self,
        seq_len: int,
        in_features: int,
        n_classes: int,
        d_model: int = 84,
        n_heads: int = 12,
        n_layers: int = 2,
        attn: Mapping | None = None,
    ) -> None:
        super().__init__()
        self.seq_len, self.in_features = seq_len, in_features
        self.embed = nn.Linear(in_features, d_model)
        self.pos = nn.Parameter(torch.randn(1, seq_len, d_model) * 0.02)
        spec = {"causal": False} | dict(attn or {})
        self.layers = nn.ModuleList(
            SeqBlock(d_model, SelfAttention(d_model, n_heads, **spec)) for _ in range(n_layers)
        )
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, F) or (B, S x F) rows -> (B, n_classes) logits."""
        x = x.view(len(x), self.seq_len, self.in_features)
        x = self.embed(x) + self.pos
        for layer in self.layers:
            x = layer(x)
        return self.head(x.mean(dim=1))

    def flop_counts(self) -> dict[str, int]:
        """Attention blocks' forward matmul FLOPs per example (attention.py flops_hand; with
        causal=False the local heads compute the full score matrix, as the authors' do)."""
        return {"attention": sum(b.attn.flops_hand(self.seq_len) for b in self.layers)}
