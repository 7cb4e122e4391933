"""The shape claims' blocks (issue 11): head-split attention, the MoE FFN, the authors'
sequence classifier and synthetic task, checked against references and hand counts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from replication.accounting import count_params
from replication.data import corpus
from replication.models.attention import SelfAttention, global_attention, local_attention
from replication.models.charlm import CharLM
from replication.models.moe_ffn import MoEFFN
from replication.models.seqcls import SeqClassifier
from replication.tasks.seqcls import SyntheticSeqTask
from replication.train import make_optimizer


def _masked(q, k, v, allowed):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)


def _qkv(t, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 3, t, 8, generator=gen) for _ in range(3))


@pytest.mark.parametrize(("t", "w"), [(10, 4), (64, 64), (100, 16), (7, 3), (5, 64), (129, 64)])
def test_local_attention_equals_a_causal_band_mask(t, w):
    q, k, v = _qkv(t)
    i, j = torch.arange(t).view(-1, 1), torch.arange(t).view(1, -1)
    ref = _masked(q, k, v, (j <= i) & (j > i - w))
    assert torch.allclose(local_attention(q, k, v, w), ref, atol=1e-5)


@pytest.mark.parametrize("t", [1, 2, 9, 50])
def test_global_attention_sees_the_first_token_and_itself_or_the_last(t):
    q, k, v = _qkv(t, 1)
    i, j = torch.arange(t).view(-1, 1), torch.arange(t).view(1, -1)
    assert torch.allclose(
        global_attention(q, k, v), _masked(q, k, v, (j == 0) | (j == i)), atol=1e-5
    )
    two = (j == 0) | (j == t - 1)
    assert torch.allclose(global_attention(q, k, v, last=t - 1), _masked(q, k, v, two), atol=1e-5)


def test_all_full_heads_are_ordinary_causal_attention():
    torch.manual_seed(0)
    att = SelfAttention(24, 4, bias=False)
    x = torch.randn(2, 11, 24)
    q, k, v = (z.view(2, 11, 4, 6).transpose(1, 2) for z in att.qkv(x).split(24, dim=2))
    scores = (q @ k.transpose(-2, -1)) / 6**0.5
    scores = scores.masked_fill(torch.ones(11, 11, dtype=torch.bool).triu(1), float("-inf"))
    ref = att.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(2, 11, 24))
    assert torch.allclose(att(x), ref, atol=1e-5)
    assert att.qkv.bias is None and att.proj.bias is None


def _counted(module, *args):
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc, torch.no_grad():
        module(*args)
    return fc.get_total_flops()


@pytest.mark.parametrize(
    ("heads", "local", "glob", "causal", "t"),
    [(12, 0, 0, True, 128), (12, 4, 2, True, 200), (12, 6, 0, True, 64), (12, 4, 2, False, 28)],
)
def test_attention_flops_match_the_hand_count(heads, local, glob, causal, t):
    """One config by hand: d 96, 12 heads of 8, 6 full + 4 local (w 64) + 2 global, t 200:
    projections 2*200*96*(3*96) + 2*200*96*96 = 14,745,600; full 6 heads x 200 queries x
    2*2*8*200 keys = 7,680,000; local 4 heads x 256 padded queries x 2*2*8*128 = 4,194,304;
    global 2 x 200 x 2*2*8*2 = 25,600; total 26,645,504."""
    att = SelfAttention(96, heads, local=local, global_heads=glob, window=64, causal=causal)
    assert _counted(att, torch.randn(1, t, 96)) == att.flops_hand(t)
    if (local, glob, t) == (4, 2, 200) and causal:
        assert att.flops_hand(t) == 26_645_504


def test_mha_flop_count_matches_torchs_counter():
    m = CharLM(80, 64, d_model=64, n_heads=4, n_layers=2, d_ff=256)
    x = torch.randn(1, 64, 64)
    per_block = _counted(m.blocks[0].attn, x, x, x)
    assert m.flop_counts()["attention"] == 2 * per_block


def test_attention_rejects_a_head_split_that_does_not_fit():
    with pytest.raises(ValueError, match=r"local .* global"):
        SelfAttention(96, 12, local=8, global_heads=6)


def _moe(dispatch, balance=0.0, experts=6):
    torch.manual_seed(3)
    return MoEFFN(16, 12, torch.nn.GELU(), experts=experts, dispatch=dispatch, balance=balance)


def test_moe_dispatches_agree_in_output_and_gradients():
    x = torch.randn(40, 16)
    outs, grads = [], []
    for dispatch in ("loop", "sorted"):
        moe = _moe(dispatch)
        y = moe(x)
        y.square().sum().backward()
        outs.append(y)
        grads.append([p.grad.clone() for p in moe.parameters()])
    assert torch.allclose(outs[0], outs[1], atol=1e-5)
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("dispatch", ["loop", "sorted"])
def test_moe_flops_match_the_hand_count(dispatch):
    """loop: gate 2*T*d*E plus 4*d*d_ff per routed slot; sorted: every expert runs C rows, C
    the largest load (padding counted: it is executed)."""
    moe = _moe(dispatch)
    x = torch.randn(40, 16)
    counted = _counted(moe, x)
    load = torch.bincount(torch.topk(moe.gate(x).softmax(-1), 2).indices.reshape(-1), minlength=6)
    assert counted == moe.flops_hand(load)
    rows = 80 if dispatch == "loop" else 6 * int(load.max())
    assert counted == 2 * 40 * 16 * 6 + rows * 4 * 16 * 12


def test_moe_starts_from_the_weights_of_per_expert_linear_layers():
    """The authors build each expert as Linear(d, d_ff), Linear(d_ff, d), then the gate."""
    torch.manual_seed(5)
    ref = [(torch.nn.Linear(16, 12), torch.nn.Linear(12, 16)) for _ in range(4)]
    gate = torch.nn.Linear(16, 4)
    torch.manual_seed(5)
    moe = MoEFFN(16, 12, torch.nn.GELU(), experts=4)
    for e, (a, b) in enumerate(ref):
        assert torch.equal(moe.w1[e], a.weight.T) and torch.equal(moe.b1[e, 0], a.bias)
        assert torch.equal(moe.w2[e], b.weight.T) and torch.equal(moe.b2[e, 0], b.bias)
    assert torch.equal(moe.gate.weight, gate.weight)


def test_balance_loss_is_the_switch_formula_and_reaches_the_gate():
    moe = _moe("sorted", balance=0.01)
    x = torch.randn(64, 16)
    moe(x)
    probs = moe.gate(x).softmax(-1)
    share = torch.bincount(torch.topk(probs, 2).indices.reshape(-1), minlength=6) / 128
    expected = 0.01 * 6 * (share * probs.mean(0)).sum()
    assert torch.allclose(moe.aux_loss, expected)
    moe.aux_loss.backward()
    assert moe.gate.weight.grad.abs().sum() > 0
    assert torch.isclose(moe.last_load.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert _moe("sorted").aux_loss is None


def test_moe_rejects_bad_settings():
    for kw, field in [({"dispatch": "dense"}, "dispatch"), ({"top_k": 7}, "top_k")]:
        with pytest.raises(ValueError, match=f"model.moe.{field}"):
            MoEFFN(16, 12, torch.nn.GELU(), experts=6, **kw)


def test_authors_parameter_counts():
    """The totals the authors print: H-EE-10 (1,134,624 / 1,138,752 / 206,080), hen5 d 60
    (95K), H-EE-11 B (404K), and the H-EE-10 active weights per token per layer."""
    h10 = dict(vocab_size=31, seq_len=32, d_model=64, n_heads=4, n_layers=4, out_bias=False)
    h10["attn"] = {"bias": True}
    a = CharLM(d_ff=256, moe={"experts": 8, "dispatch": "loop"}, **h10)
    b = CharLM(d_ff=85, moe={"experts": 24, "dispatch": "loop"}, **h10)
    assert [count_params(m) for m in (a, b, CharLM(d_ff=256, **h10))] == [
        1_134_624,
        1_138_752,
        206_080,
    ]
    assert a.param_counts()["active_ffn"] == 4 * 66_048
    assert b.param_counts()["active_ffn"] == 4 * 23_296
    assert a.aux_loss is None
    hen5 = CharLM(30, 64, d_model=60, n_heads=4, d_ff=240, attn={"bias": False}, out_bias=False)
    assert count_params(hen5) == 95_040
    h11 = CharLM(31, 64, d_model=120, n_heads=8, n_layers=4, d_ff=160, norm="post")
    assert count_params(h11) == 404_111


def test_moe_lm_reports_expert_loads():
    m = CharLM(
        80, 16, d_model=16, n_heads=2, n_layers=2, d_ff=8, moe={"experts": 4, "balance": 0.01}
    )
    out = m.diagnostics(torch.randint(0, 80, (4, 16)))
    assert len(out["expert_load_l0"]) == 4 and abs(sum(out["expert_load_l1"]) - 1) < 1e-9
    assert 1 <= out["expert_load_max"] <= 4 and 0 < out["expert_load_entropy"] <= 1
    m(torch.randint(0, 80, (2, 16)))
    assert m.aux_loss is not None and m.aux_loss > 0


@pytest.mark.parametrize(
    ("name", "n_chars", "n_vocab", "end"),
    [
        ("hee10_sentences", 82_200, 31, "four thirds. "),
        ("hen5_sentences", 21_100, 30, "equals six."),
    ],
)
def test_shape_claim_texts(name, n_chars, n_vocab, end):
    text = corpus.load_text(name)
    assert len(text) == n_chars and len(set(text)) == n_vocab and text.endswith(end)


def test_synthetic_task_is_the_authors_data_whatever_the_seed():
    task = SyntheticSeqTask()
    a, b = task.load(0), task.load(7)
    assert torch.equal(a.train[0], b.train[0]) and torch.equal(a.test[1], b.test[1])
    x, y = a.train
    assert x.shape == (5000, 28, 28) and torch.equal(y, (x[:, :14].mean(dim=(1, 2)) > 0).long())
    rows = torch.cat([task.batch(a, s, 128, torch.Generator().manual_seed(1))[1] for s in (1, 2)])
    assert len(rows) == 256
    with pytest.raises(RuntimeError, match="in order"):
        task.batch(a, 45, 128, None)


def test_sequence_classifier_takes_flat_rows_and_counts_its_attention():
    m = SeqClassifier(28, 28, 10, attn={"local": 4, "global_heads": 2})
    assert m(torch.randn(3, 784)).shape == (3, 10)
    assert m.flop_counts()["attention"] == _counted(m.layers[0].attn, torch.randn(1, 28, 84)) * 2


def test_adamw_is_an_optimizer_choice():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(
        {"name": "adamw", "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}
    )
    opt = make_optimizer([torch.nn.Parameter(torch.zeros(2))], cfg)
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["weight_decay"] == 0.01


def test_expert_loads_average_sorted_shares_over_the_seeds_used():
    from types import SimpleNamespace

    from replication.loads import expert_loads

    def rec(seed, l0, l1, arm="moe", status="complete"):
        extras = {"expert_load_l0": l0, "expert_load_l1": l1, "data": {}}
        return SimpleNamespace(
            protocol="audit", arm=arm, seed=seed, stage="eval", status=status, extras=extras
        )

    runs = [
        rec(0, [0.1, 0.9], [0.5, 0.5]),
        rec(1, [0.7, 0.3], [0.2, 0.8]),
        rec(2, [1.0, 0.0], [1.0, 0.0]),  # a seed the looks did not use
        rec(1, [0.0, 1.0], [0.0, 1.0], status="diverged"),
        SimpleNamespace(
            protocol="audit", arm="dense", seed=0, stage="eval", status="complete", extras={}
        ),
    ]
    got = expert_loads(runs, {"audit": {0, 1}})
    assert list(got["audit"]) == ["moe"]
    assert [v for layer in got["audit"]["moe"] for v in layer] == pytest.approx(
        [0.8, 0.2, 0.65, 0.35]
    )
