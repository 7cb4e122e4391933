"""Activations, the MLP's initialisations and the char transformer with its gate."""

import math

import numpy as np
import pytest
import torch

from replication.models import activations
from replication.models.charlm import BoltzmannGate, CharLM
from replication.models.mlp import MLP

X = torch.linspace(-3, 3, 61, dtype=torch.float64)


def test_activation_formulas():
    c = X.clamp(-2, 2)
    assert torch.allclose(activations.get("phi6_simple")(X), c * c - c + 1)
    assert torch.allclose(activations.get("zetaln2")(X), (X - 5 / 12) ** 2)
    assert torch.allclose(activations.get("phi6_centered")(X), (X - 0.5) ** 2)
    assert torch.allclose(activations.get("vertex", v=0.3)(X), (X - 0.3) ** 2)
    w = math.log(4 / 3)
    assert torch.allclose(activations.get("gz")(X), X * X - w * X)
    assert activations.get("phi6_simple")(X).min() == pytest.approx(0.75)


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="unknown activation 'phi7'"):
        activations.get("phi7")


def test_numpy_he_init_with_skip_is_the_authors_stream():
    """hen9 draws 1e6 normals, then earlier activations' weights, from one generator."""
    m = MLP(
        [32, 128, 32],
        "gelu_tanh",
        init={"kind": "numpy_he", "seed": 42, "skip": 1000},
        dtype="float64",
    )
    rng = np.random.default_rng(42)
    rng.standard_normal(1000)
    w1 = rng.standard_normal((32, 128)) * np.sqrt(2 / 32)
    w2 = rng.standard_normal((128, 32)) * np.sqrt(2 / 128)
    assert np.array_equal(m.layers[0].weight.detach().numpy(), w1.T)
    assert np.array_equal(m.layers[1].weight.detach().numpy(), w2.T)
    assert not m.layers[0].bias.any()


def test_numpy_legacy_init_uses_the_global_generator_per_run():
    a = MLP([2, 16, 1], "relu", init={"kind": "numpy_legacy", "seed": None}, run_seed=7)
    b = MLP([2, 16, 1], "relu", init={"kind": "numpy_legacy", "seed": 7})
    c = MLP([2, 16, 1], "relu", init={"kind": "numpy_legacy", "seed": 8})
    assert torch.equal(a.layers[0].weight, b.layers[0].weight)
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)


def test_authors_char_transformer_has_their_parameter_count():
    # protocol-details §6: the authors' CharLM (d 120, 12 heads, 4 layers, FFN 160, vocab 30)
    m = CharLM(
        vocab_size=30,
        seq_len=64,
        d_model=120,
        n_heads=12,
        n_layers=4,
        d_ff=160,
        act="phi6_simple",
        norm="post",
    )
    assert sum(p.numel() for p in m.parameters()) == 403_870


def test_gate_keeps_the_top_share_and_passes_no_gradient_to_the_rest():
    gate = BoltzmannGate(keep=1 / math.e)
    y = torch.randn(16, 64, 160, requires_grad=True)
    out = gate(y)
    kept = (out != 0).double().mean().item()
    assert kept == pytest.approx(math.floor(y.numel() / math.e) / y.numel(), abs=1e-4)
    out.sum().backward()
    assert torch.equal(y.grad != 0, out != 0)  # a hard mask: no straight-through gradient
    gate.eval()
    assert torch.equal(gate(y), y)  # the authors turn it off in eval mode
    assert (BoltzmannGate(keep=0.5, in_eval=True).eval()(y) == 0).any()


def test_gate_sparsity_diagnostics():
    torch.manual_seed(0)
    idx = torch.randint(0, 30, (4, 64))
    gated = CharLM(
        30,
        64,
        d_model=32,
        n_heads=4,
        n_layers=2,
        d_ff=64,
        act="phi6_simple",
        gate={"keep": 1 / math.e},
    )
    d = gated.diagnostics(idx)
    assert d["gate_sparsity_train"] == pytest.approx(1 - 1 / math.e, abs=0.01)
    assert d["gate_sparsity_eval"] == 0.0
    plain = CharLM(30, 64, d_model=32, n_heads=4, n_layers=2, d_ff=64, act="phi6_simple")
    assert plain.diagnostics(idx) == {"gate_sparsity_train": 0.0, "gate_sparsity_eval": 0.0}


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_char_transformer_is_causal(norm):
    torch.manual_seed(0)
    m = CharLM(30, 16, d_model=32, n_heads=4, n_layers=2, d_ff=64, norm=norm).eval()
    a = torch.randint(0, 30, (1, 16))
    b = a.clone()
    b[0, 10:] = (b[0, 10:] + 1) % 30  # change only the future
    assert torch.allclose(m(a)[0, :10], m(b)[0, :10], atol=1e-6)


def test_attention_flops_do_not_depend_on_the_sdpa_kernel_picked():
    """Dropout sends attention down another kernel; the count must not notice (parity)."""
    import torch.nn.functional as F

    from replication.accounting import count_flops

    x = torch.randint(0, 30, (4, 16))
    y = torch.randint(0, 30, (4, 16))

    def loss(out, t):
        return F.cross_entropy(out.reshape(-1, 30), t.reshape(-1))

    counts = {
        (p, norm): count_flops(CharLM(30, 16, 32, 4, 2, 64, dropout=p, norm=norm), x, y, loss)[
            "flops_per_example_forward"
        ]
        for p in (0.0, 0.3)
        for norm in ("pre", "post")
    }
    assert len(set(counts.values())) == 1, counts
    # attention's two matrix products are in it: 2 layers x 2 x (2 x T^2 x d) per example
    no_attn = 2 * (4 * 2 * 16 * 32 * 32 + 2 * 2 * 16 * 32 * 64) + 2 * 16 * 32 * 30
    assert counts[(0.0, "pre")] == no_attn + 2 * 2 * 2 * 16 * 16 * 32


@pytest.mark.parametrize("d_ff", [21, 85, 256])
def test_ffn_params_and_flops_match_a_hand_count(d_ff):
    """The FFN's share, which the 4/3x claim is stated on: weights and biases of its two
    layers, and forward FLOPs that grow by 2 x 2 x T x d per unit of d_ff in each layer."""
    import torch.nn.functional as F

    from replication.accounting import count_flops

    d, t, layers, vocab = 64, 16, 2, 30
    m = CharLM(vocab, t, d_model=d, n_heads=4, n_layers=layers, d_ff=d_ff)
    assert m.param_counts()["ffn"] == layers * (d * d_ff + d_ff + d_ff * d + d)
    assert m.param_counts()["attention"] == layers * (4 * d * d + 4 * d)
    x = torch.randint(0, vocab, (2, t))

    def loss(out, y):
        return F.cross_entropy(out.reshape(-1, vocab), y.reshape(-1))

    fwd = count_flops(m, x, x, loss)["flops_per_example_forward"]
    base = CharLM(vocab, t, d_model=d, n_heads=4, n_layers=layers, d_ff=1)
    fwd1 = count_flops(base, x, x, loss)["flops_per_example_forward"]
    assert fwd - fwd1 == layers * 2 * 2 * t * d * (d_ff - 1)
