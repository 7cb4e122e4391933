"""CLSO's "crystalline" search space: fixed libraries of structured random matrices.

Each linear-layer type of the GPT-2 (qkv, attn_proj, fc, mlp_proj; models/gpt2.py) gets a
library of `size` matrices of its shape, the first half block-diagonal, the rest quantised
low-rank, drawn as the source's `BasisLibrary` draws them (src/basis_library.py):

- block_sparse: 2-8 blocks; the rows and columns are cut at sorted random points, each block
  is N(0, 2 / (r + c)), assembled with torch.block_diag (the source's repair of empty parts
  included);
- quantized_low_rank: rank r from 2 to max(4, min(d_in, d_out) // 4); U and V in {-1, 0, 1}
  with probabilities 1/4, 1/2, 1/4; W = U V^T / sqrt(r).

A genome is one library index per crystalline layer; `assemble` copies the chosen matrices
into the model's weights (biases, embeddings and LayerNorms are left as they are). The
source's layer walk matches GPT-2's attention modules by the substring 'attn' of their class
name, which 'GPT2Attention' does not contain, so only the two MLP layers of each block became
crystalline there (GENES_AS_RUN); GENES_AS_DESCRIBED is what its documents describe.
"""

from __future__ import annotations

import torch

from replication.models.gpt2 import GPT2LM, LAYERS

GENES_AS_RUN = ("fc", "mlp_proj")
GENES_AS_DESCRIBED = LAYERS


def _partition(total: int, parts: int, g: torch.Generator) -> list[int]:
    cuts = torch.sort(torch.randint(1, total, (parts - 1,), generator=g))[0].tolist()
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    sizes = [max(1, s) for s in sizes]  # the source's repair of empty parts
    diff = sum(sizes) - total
    if diff > 0:
        sizes[sizes.index(max(sizes))] -= diff
    elif diff < 0:
        sizes[0] -= diff
    return sizes


def block_sparse(d_in: int, d_out: int, g: torch.Generator) -> torch.Tensor:
    blocks = int(torch.randint(2, 9, (1,), generator=g))
    rows, cols = _partition(d_out, blocks, g), _partition(d_in, blocks, g)
    return torch.block_diag(
        *(
            torch.randn(r, c, generator=g) * (2.0 / (r + c)) ** 0.5
            for r, c in zip(rows, cols, strict=True)
        )
    )


def quantized_low_rank(d_in: int, d_out: int, g: torch.Generator) -> torch.Tensor:
    max_rank = max(4, min(d_in, d_out) // 4)
    rank = int(torch.randint(2, max_rank + 1, (1,), generator=g))
    probs = torch.tensor([0.25, 0.5, 0.25])
    u = torch.multinomial(probs, d_out * rank, replacement=True, generator=g).view(d_out, rank)
    v = torch.multinomial(probs, d_in * rank, replacement=True, generator=g).view(d_in, rank)
    return ((u - 1).float() @ (v - 1).float().T) / rank**0.5


def library(size: int, d_in: int, d_out: int, g: torch.Generator) -> torch.Tensor:
    """(size, d_out, d_in): size // 2 block-sparse matrices, then the rest low-rank."""
    half = size // 2
    mats = [block_sparse(d_in, d_out, g) for _ in range(half)]
    mats += [quantized_low_rank(d_in, d_out, g) for _ in range(size - half)]
    return torch.stack(mats)


def libraries(model: GPT2LM, size: int, seed: int) -> dict[str, torch.Tensor]:
    """One library per layer type, drawn in the source's order (qkv, attn out, fc, mlp out)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name in LAYERS:
        w = model.linear(0, name).weight
        out[name] = library(size, w.shape[1], w.shape[0], g).to(w.device)
    return out


def slots(model: GPT2LM, genes: tuple[str, ...]) -> list[tuple[int, str]]:
    """The crystalline layers in genome order: per block, the named layers in LAYERS order."""
    return [(i, name) for i in range(model.n_layers) for name in LAYERS if name in genes]


@torch.no_grad()
def assemble(
    model: GPT2LM, libs: dict[str, torch.Tensor], layout: list[tuple[int, str]], genome
) -> None:
    """Point every crystalline layer at its library matrix (the source's 'hydration')."""
    if len(genome) != len(layout):
        raise ValueError(f"genome of {len(genome)} genes for {len(layout)} crystalline layers")
    for (layer, name), index in zip(layout, genome, strict=True):
        model.linear(layer, name).weight.copy_(libs[name][int(index)])


@torch.no_grad()
def loss_floor(wte: torch.Tensor) -> float:
    """The lowest cross-entropy any genome can reach with this frozen, tied output layer.

    ln_f's output has norm sqrt(d) (LayerNorm at weight 1, bias 0), so the logit of token v is
    within +-B_v = sqrt(d) |w_v|; with the target's logit at +B_t and every other at its -B_v,
    the loss is ln(1 + sum_{v != t} exp(-B_v - B_t)): a floor, minimised over targets t.
    Arithmetic of the embedding, not an experiment.
    """
    b = wte.shape[1] ** 0.5 * wte.double().norm(dim=1)
    rest = torch.exp(-b).sum() - torch.exp(-b)
    return float(torch.log1p(rest * torch.exp(-b)).min())
