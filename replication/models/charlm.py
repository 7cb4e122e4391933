"""A small character-level transformer language model with a swappable FFN activation.

Two block layouts:
- post: the authors' CharLM (n6-architecture boltzmann_gate.py / mertens_dropout.py;
  protocol-details §6-7): learned positions, nn.MultiheadAttention with a causal mask,
  x = LN1(x + drop(attn(x))), x = LN2(x + FFN(x)), no final norm, untied output layer. Modules
  are built in the authors' order (embeddings, then per block attention, FFN in, FFN out, the
  two norms, then the output layer) so seeded weights match.
- pre: the usual GPT layout, x = x + drop(attn(LN1(x))), x = x + FFN(LN2(x)), final LN.

FFN = Linear(d, d_ff) -> activation -> [Boltzmann gate] -> dropout -> Linear(d_ff, d). Dropout
with rate `dropout` sits on the attention probabilities, the attention output and after the
activation, where the authors put Mertens dropout. One activation (and gate) module is shared
by all blocks, as in the authors' code.

Pluggable parts (one family per file): `attn` (None: nn.MultiheadAttention; a mapping:
models/attention.py SelfAttention, nanoGPT-style qkv with heads split into full / local /
global groups), `moe` (a mapping: models/moe_ffn.py MoEFFN in place of the dense FFN) and
`out_bias` (the output layer's bias; hen5 and H-EE-10 have none).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from replication.models.activations import Activation
from replication.models.attention import SelfAttention
from replication.models.moe_ffn import MoEFFN


class BoltzmannGate(nn.Module):
    """Keep the top `keep` share of |y| over the whole tensor, zero the rest (a hard mask, no
    straight-through gradient); ties at the threshold are kept. The authors keep 1/e and turn
    the gate off in eval mode; `in_eval` keeps it on there too."""

    def __init__(self, keep: float = 1 / math.e, in_eval: bool = False) -> None:
        super().__init__()
        if not 0 < keep <= 1:
            raise ValueError(f"model.gate.keep must be in (0, 1], got {keep}")
        self.keep, self.in_eval = keep, in_eval

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if not (self.training or self.in_eval):
            return y
        mag = y.abs().flatten()
        k = max(1, math.floor(mag.numel() * self.keep))
        threshold = torch.topk(mag, k).values[-1]
        return y * (y.abs() >= threshold)


class Block(nn.Module):
    def __init__(
        self,
        d: int,
        heads: int,
        d_ff: int,
        act: nn.Module,
        gate: nn.Module | None,
        dropout: float,
        norm: str,
        attn: Mapping | None = None,
        moe: Mapping | None = None,
    ) -> None:
        super().__init__()
        self.norm = norm
        if attn is None:
            self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        else:
            self.attn = SelfAttention(d, heads, dropout=dropout, **dict(attn))
        if moe is None:
            self.ff_in = nn.Linear(d, d_ff)
            self.ff_out = nn.Linear(d_ff, d)
            self.moe = None
        else:
            if gate is not None:
                raise ValueError("model.gate and model.moe cannot be combined")
            self.moe = MoEFFN(d, d_ff, act, **dict(moe))
        self.ln1 = nn.LayerNorm(d)
        self.ln2 = nn.LayerNorm(d)
        self.act, self.gate = act, gate
        self.drop = nn.Dropout(dropout)

    def ffn(self, x: torch.Tensor) -> torch.Tensor:
        if self.moe is not None:
            return self.drop(self.moe(x))
        h = self.act(self.ff_in(x))
        if self.gate is not None:
            h = self.gate(h)
        return self.ff_out(self.drop(h))

    def attend(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if isinstance(self.attn, SelfAttention):
            return self.attn(x)  # causal inside
        return self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.norm == "post" and not isinstance(
            self.attn, SelfAttention
        ):  # the authors' call, weights and all (it picks MHA's math path)
            a, _ = self.attn(x, x, x, attn_mask=mask)
            x = self.ln1(x + self.drop(a))
            return self.ln2(x + self.ffn(x))
        if self.norm == "post":
            x = self.ln1(x + self.drop(self.attend(x, mask)))
            return self.ln2(x + self.ffn(x))
        x = x + self.drop(self.attend(self.ln1(x), mask))
        return x + self.ffn(self.ln2(x))


class CharLM(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        d_ff: int = 512,
        act: str = "gelu",
        act_params: Mapping | None = None,
        norm: str = "pre",
        dropout: float = 0.0,
        gate: Mapping | None = None,
        attn: Mapping | None = None,
        moe: Mapping | None = None,
        out_bias: bool = True,
    ) -> None:
        super().__init__()
        if norm not in ("pre", "post"):
            raise ValueError(f"model.norm must be pre or post, got {norm!r}")
        if d_model % n_heads:
            raise ValueError(f"model.d_model ({d_model}) must divide by n_heads ({n_heads})")
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(seq_len, d_model)
        self.act = Activation(act, **dict(act_params or {}))
        self.gate = BoltzmannGate(**dict(gate)) if gate else None
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads, d_ff, self.act, self.gate, dropout, norm, attn, moe)
            for _ in range(n_layers)
        )
        self.final_ln = nn.LayerNorm(d_model) if norm == "pre" else None
        self.out = nn.Linear(d_model, vocab_size, bias=out_bias)
        mask = torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)  # True = may not attend

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, vocab) logits."""
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x, self.mask[:t, :t])
        if self.final_ln is not None:
            x = self.final_ln(x)
        return self.out(x)

    @property
    def aux_loss(self) -> torch.Tensor | None:
        """The MoE blocks' load-balancing losses of the last forward (None without them); the
        training loop adds it to the task loss."""
        parts = [b.moe.aux_loss for b in self.blocks if b.moe is not None]
        parts = [a for a in parts if a is not None]
        return sum(parts) if parts else None

    def param_counts(self) -> dict[str, int]:
        """Parameters by component, for claims stated on one part ("-67% FFN params"), and the
        FFN weights one token uses (active_ffn: k experts' matrices plus the gate for an MoE,
        both matrices for a dense FFN; biases left out, as the authors count)."""
        ffn = active = 0
        for b in self.blocks:
            if b.moe is not None:
                ffn += sum(p.numel() for p in b.moe.parameters())
                active += b.moe.active_params()
            else:
                ffn += sum(p.numel() for m in (b.ff_in, b.ff_out) for p in m.parameters())
                active += b.ff_in.weight.numel() + b.ff_out.weight.numel()
        attn = sum(p.numel() for b in self.blocks for p in b.attn.parameters())
        return {"ffn": ffn, "attention": attn, "active_ffn": active}

    def flop_counts(self) -> dict[str, int]:
        """Forward matmul FLOPs per sequence of seq_len tokens of all attention blocks,
        projections included, by hand (attention.py flops_hand; nn.MultiheadAttention is all
        full heads): for claims stated on attention's cost ("~40% attention FLOPs")."""
        t = self.mask.shape[0]
        total = 0
        for b in self.blocks:
            if isinstance(b.attn, SelfAttention):
                total += b.attn.flops_hand(t)
            else:
                d = b.attn.embed_dim
                total += 2 * t * d * 4 * d + 2 * 2 * t * t * d
        return {"attention": total}

    @torch.no_grad()
    def diagnostics(self, idx: torch.Tensor) -> dict[str, float]:
        """Share of exactly-zero FFN activations (after the gate, if any), in train and in eval
        mode: the sparsity a gate claims, and what is left of it at inference."""
        seen: list[float] = []
        probe = self.gate if self.gate is not None else self.act
        hook = probe.register_forward_hook(
            lambda m, i, o: seen.append(float((o.abs() < 1e-8).double().mean()))
        )
        out = {}
        was = self.training
        for mode in ("train", "eval"):
            seen.clear()
            self.train(mode == "train")
            with torch.random.fork_rng(devices=[]):  # train-mode dropout must not shift RNG
                self(idx)
            out[f"gate_sparsity_{mode}"] = sum(seen) / len(seen)
        hook.remove()
        self.train(was)
        return out | self._expert_loads()

    def _expert_loads(self) -> dict[str, float | list[float]]:
        """Share of token slots per expert in each MoE layer, from the last (eval) forward,
        and two summaries: the largest share x experts (1 = balanced) and the mean normalised
        entropy of the shares (1 = balanced)."""
        loads = [b.moe.last_load for b in self.blocks if b.moe is not None]
        if not loads:
            return {}
        out: dict[str, float | list[float]] = {
            f"expert_load_l{i}": [float(v) for v in load] for i, load in enumerate(loads)
        }
        n = len(loads[0])
        out["expert_load_max"] = max(float(load.max()) * n for load in loads)
        ent = [float(-(load.clamp_min(1e-12).log() * load).sum()) / math.log(n) for load in loads]
        out["expert_load_entropy"] = sum(ent) / len(ent)
        return out
