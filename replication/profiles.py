"""Budget profiles, launchers and paths as a command composes them (once per process).

User input (BUDGET=, LAUNCHER=, ARGS=) is checked here: an unknown profile or launcher, or
overrides Hydra cannot compose, is a one-line UserError, never a traceback.
"""

from __future__ import annotations

import functools

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from replication import CONF_DIR, UserError, one_line
from replication.confscan import budget_profiles
from replication.sweep import Budget

LAUNCHERS = ("basic", "joblib", "submitit_local", "submitit_slurm")  # + conf/hydra/launcher


def composed(overrides: list[str], hydra: bool = False) -> DictConfig:
    """conf/config.yaml with these overrides, as Hydra composes it (hydra: keep `hydra`)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=hydra)


def settings(budget: str, overrides: list[str]) -> DictConfig:
    """The composed paths and budget a command works with (budget profile + overrides)."""
    if budget not in budget_profiles():
        raise UserError(f"BUDGET={budget}: unknown budget profile ({', '.join(budget_profiles())})")
    mine = tuple(o for o in overrides if o.startswith(("paths.", "budget.")))
    try:
        return _profile(budget, mine)
    except (HydraException, OmegaConfBaseException) as err:
        raise UserError(f"ARGS: {' '.join(mine)}: {one_line(str(err), 240)}") from None


@functools.lru_cache(maxsize=16)
def _profile(budget: str, overrides: tuple[str, ...]) -> DictConfig:
    """Composed once per process: a command reads its settings, never changes them."""
    cfg = composed([f"budget={budget}", *overrides])
    OmegaConf.set_readonly(cfg, True)
    return cfg


def budget(name: str, overrides: list[str]) -> Budget:
    """The caps of a budget profile."""
    return Budget(**OmegaConf.to_container(settings(name, overrides).budget, resolve=True))


def launcher(name: str) -> str:
    """A launcher preset of conf/hydra/launcher, or one of the launcher plugins' own names."""
    presets = sorted(p.stem for p in (CONF_DIR / "hydra" / "launcher").glob("*.yaml"))
    if name not in (*presets, *LAUNCHERS):
        raise UserError(
            f"LAUNCHER={name}: unknown launcher ({', '.join(presets + list(LAUNCHERS))})"
        )
    return name
