"""The authors' PureFieldEngine as TwinMLP (replication/models/twin_mlp.py) and its conf."""

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch import nn

from replication import CONF_DIR, confscan, schema
from replication.models.twin_mlp import TwinMLP
from replication.stopping import StopRule

IDENTITY = ["claim_id=x", "protocol=p", "arm=a", "seed=42", "run_id=r"]


class PureFieldEngine(nn.Module):
    """The authors' model as their script writes it."""

    def __init__(self) -> None:
        super().__init__()
        self.engine_a = nn.Sequential(
            nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10)
        )
        self.engine_g = nn.Sequential(
            nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10)
        )

    def forward(self, x):
        return self.engine_a(x) - self.engine_g(x)


def test_the_authors_sizes_have_203540_parameters():
    model = TwinMLP()
    assert model.n_params() == 203_540 == sum(p.numel() for p in PureFieldEngine().parameters())


def test_same_seed_same_weights_and_dropout_as_the_authors_model():
    torch.manual_seed(42)
    ours = TwinMLP()
    torch.manual_seed(42)
    theirs = PureFieldEngine()
    pairs = list(zip(ours.parameters(), theirs.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in pairs)  # A's layers first, then G's
    x = torch.randn(8, 784)
    torch.manual_seed(0)
    a = ours(x)
    torch.manual_seed(0)
    assert torch.equal(a, theirs(x))  # train mode: the same dropout masks
    ours.eval()
    assert torch.equal(ours(x), ours.a(x) - ours.g(x))


def test_only_the_authors_init_is_accepted():
    with pytest.raises(ValueError, match=r"init\.kind"):
        TwinMLP(init={"kind": "numpy_he"})


def _compose(*overrides: str):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=[*IDENTITY, *overrides])


def test_conf_builds_the_model_and_task_and_types_check():
    from replication.run import build

    cfg = _compose("task=mnist5k", "model=twin_mlp", "+stop=posthoc")
    assert "replication.models.twin_mlp.TwinMLP" in confscan.allowed_targets()
    assert "replication.tasks.images.ImageTask" in confscan.allowed_targets()
    plain = OmegaConf.to_container(cfg, resolve=True)
    assert schema.config_problem({k: v for k, v in plain.items() if k != "hydra"}) is None
    model = build(cfg.model)
    assert isinstance(model, TwinMLP) and model.n_params() == 203_540
    assert build(cfg.task).dataset == "mnist5k"
    rule = StopRule.from_config(cfg.stop)
    assert rule.rule == "posthoc" and rule.report_thresholds == (0.005, 0.01, 0.02, 0.05)


def test_the_stop_node_exists_only_where_a_claim_adds_it():
    """No default: every existing config composes (and hashes) exactly as before."""
    assert "stop" not in _compose()
    cfg = _compose("+stop=none", "stop=entropy", "stop.threshold=0.01")  # arm after claim
    assert (cfg.stop.rule, cfg.stop.metric, cfg.stop.threshold) == ("plateau", "val_entropy", 0.01)
    for name in sorted(confscan.conf_groups()["stop"]):
        StopRule.from_config(_compose(f"+stop={name}").stop)  # every option is a valid rule
