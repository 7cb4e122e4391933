"""A small GPT-2 (nanoGPT layout, Hugging Face GPT-2 initialisation), for the CLSO claim.

Pre-LN blocks: x = x + c_proj(attn(ln_1(x))), x = x + mlp_proj(gelu_tanh(c_fc(ln_2(x)))),
then ln_f and an output layer tied to the token embedding, as `GPT2LMHeadModel` builds it.
Weights are drawn as `GPT2PreTrainedModel._init_weights` draws them: N(0, 0.02) for linear
and embedding weights, N(0, 0.02 / sqrt(2 n_layer)) for the two residual projections, zero
biases, LayerNorm (1, 0). The four linear layers of a block are named by `LAYERS`, so a CLSO
genome (replication/models/crystal.py) can point each at a matrix of a fixed library.

`frozen` names what gradient descent may not train: CLSO's embeddings, LayerNorms and biases
stay at their random initial values (the source has no optimiser for them).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LAYERS = ("qkv", "attn_proj", "fc", "mlp_proj")  # a block's linear layers, in genome order


class Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln_1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp_proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class GPT2LM(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        init_std: float = 0.02,
        frozen: bool = False,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"model.d_model {d_model} is not a multiple of n_heads {n_heads}")
        self.wte = nn.Embedding(vocab_size, d_model)
        self.wpe = nn.Embedding(seq_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.d, self.n_layers, self.vocab, self.seq_len = d_model, n_layers, vocab_size, seq_len
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif ".ln_" in name or name.startswith("ln_"):
                nn.init.ones_(p)
            elif name.endswith(("attn_proj.weight", "mlp_proj.weight")):
                nn.init.normal_(p, 0.0, init_std / math.sqrt(2 * n_layers))
            else:
                nn.init.normal_(p, 0.0, init_std)
        if frozen:  # CLSO: nothing here is learned; a genome sets the linear weights
            self.requires_grad_(False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T  # tied output layer, no bias

    def linear(self, layer: int, name: str) -> nn.Linear:
        return getattr(self.blocks[layer], name)

    def flop_counts(self) -> dict[str, int]:
        """Forward matrix-product FLOPs per sequence of seq_len tokens, by part (2 per
        multiply-add; attention counts the full T x T score and value products, as SDPA's
        causal kernels compute them)."""
        d, t = self.d, self.seq_len
        per_layer_linear = 2 * t * (3 * d * d + d * d + 8 * d * d)
        attention = 2 * 2 * t * t * d
        return {
            "linear": self.n_layers * per_layer_linear,
            "attention": self.n_layers * attention,
            "logits": 2 * t * d * self.vocab,
        }
