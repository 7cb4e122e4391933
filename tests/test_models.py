"""Routing rules and the MoE model: weights, gradients, identical init across arms."""

import pytest
import torch

from replication.models import routing
from replication.models.moe import MoEClassifier

ROUTERS = {
    "equal": {"kind": "equal"},
    "egyptian": {"kind": "ranked", "weights": [0.5, 1 / 3, 1 / 6]},
    "softmax": {"kind": "softmax"},
    "top2": {"kind": "topk", "k": 2},
}


def test_ranked_puts_weights_by_logit_rank():
    logits = torch.tensor([[0.1, 3.0, -1.0], [2.0, 1.0, 0.0]])
    w = routing.ranked(logits, [0.5, 0.3, 0.2])
    assert torch.allclose(w, torch.tensor([[0.3, 0.5, 0.2], [0.5, 0.3, 0.2]]))


def test_topk_zeroes_the_rest_and_sums_to_one():
    w = routing.topk(torch.tensor([[1.0, 2.0, 3.0]]), 2)
    assert w[0, 0] == 0 and torch.isclose(w.sum(), torch.tensor(1.0))


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "ranked", "weights": [0.5, 0.5]},
        {"kind": "ranked", "weights": [0.5, 0.3, 0.3]},
        {"kind": "topk", "k": 4},
        {"kind": "nope"},
    ],
)
def test_bad_router_specs_are_refused(bad):
    with pytest.raises(ValueError, match="router"):
        routing.make_routing(bad, 3)


def build(name, seed=0):
    torch.manual_seed(seed)
    return MoEClassifier(in_features=64, n_classes=8, router=ROUTERS[name])


def test_every_arm_starts_from_identical_weights():
    states = [build(name).state_dict() for name in ROUTERS]
    for other in states[1:]:
        assert all(torch.equal(states[0][k], other[k]) for k in states[0])


@pytest.mark.parametrize(
    "name, learns", [("equal", False), ("egyptian", False), ("softmax", True), ("top2", True)]
)
def test_router_gets_a_gradient_only_when_learned(name, learns):
    model = build(name)
    x, y = torch.randn(16, 64), torch.randint(0, 8, (16,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    assert (model.router.weight.grad is not None) is learns


def test_diagnostics_entropies_are_normalised():
    d = build("egyptian").diagnostics(torch.randn(256, 64))
    assert 0 < d["routing_sample_entropy"] < d["routing_entropy"] <= 1
    assert build("equal").diagnostics(torch.randn(8, 64))["routing_load_entropy"] is None
