"""The types of a composed run config, checked before any run (replication/validate.py).

conf/ holds the values; the types come from the code that consumes them: the constructor
signature of each `_target_` class (tasks, models; imported only when checked) and, for the
training loop and the optimizers, the dataclasses below. OmegaConf does the checking, so an
error reads like `optim.lr: Value 'abc' of type 'str' could not be converted to Float`.
Unknown keys are errors too, except for classes that take **kwargs.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import importlib
import inspect
import types
import typing
from enum import Enum
from typing import Any, Literal, Optional

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from replication import one_line
from replication.confscan import allowed_targets


# The types of conf/train/ (replication/train.py's loop) and conf/optim/ options
# (train.make_optimizer); conf/ holds the values.
@dataclasses.dataclass
class TrainConfig:
    steps: int
    batch_size: int
    eval_every: int
    grad_clip: float | None
    tail: int
    rng: Literal["separate", "shared"]
    seed_stream: int  # 0: the run seed itself; 1..MAX_SEED_STREAM: a stream derived from it


MAX_SEED_STREAM = 15  # independent seed streams per seed (A/A claims use 1)


@dataclasses.dataclass
class AdamConfig:
    name: str
    lr: float
    betas: list[float]
    eps: float
    weight_decay: float


@dataclasses.dataclass
class SGDConfig:
    name: str
    lr: float
    momentum: float
    weight_decay: float


OPTIMIZERS = {"adam": AdamConfig, "adamw": AdamConfig, "sgd": SGDConfig}


MAX_THREADS = 64  # torch threads of one run


@dataclasses.dataclass
class RunSettings:
    """Top-level keys of conf/config.yaml that a run reads."""

    threads: int
    deterministic: bool
    device: Literal["cpu", "cuda"]


@dataclasses.dataclass(frozen=True)
class NodeSchema:
    schema: type  # a dataclass OmegaConf can check, every default MISSING
    required: frozenset[str]  # keys the code has no default for
    open: bool = False  # the class takes **kwargs: keys beyond the schema are allowed


def config_problem(cfg: dict) -> tuple[str, str] | None:
    """(key, why) for the first value of a resolved config (plain containers) that does not
    fit its type; None when everything fits."""
    top = {f.name: cfg[f.name] for f in dataclasses.fields(RunSettings) if f.name in cfg}
    found = _against(dataclass_schema(RunSettings), top, "")
    if found is None and not 1 <= int(top.get("threads", 1)) <= MAX_THREADS:
        return "threads", f"threads must lie in 1..{MAX_THREADS}, got {top['threads']}"
    if found is None and isinstance(cfg.get("train"), dict):
        found = _against(dataclass_schema(TrainConfig), cfg["train"], "train.")
        stream = cfg["train"].get("seed_stream", 0)
        if found is None and not 0 <= int(stream) <= MAX_SEED_STREAM:
            return (
                "train.seed_stream",
                f"train.seed_stream must lie in 0..{MAX_SEED_STREAM}, got {stream}",
            )
    if found is None and isinstance(cfg.get("optim"), dict):
        name = cfg["optim"].get("name")
        if name not in OPTIMIZERS:
            return "optim.name", f"unknown optimizer {name!r} ({', '.join(OPTIMIZERS)})"
        found = _against(dataclass_schema(OPTIMIZERS[name]), cfg["optim"], "optim.")
    return found or _targets_problem(cfg, "")


def _targets_problem(node: object, where: str) -> tuple[str, str] | None:
    """Every mapping with a `_target_`, at any depth, against its class's signature."""
    if isinstance(node, list):
        items = [(f"{where}{i}.", v) for i, v in enumerate(node)]
    elif isinstance(node, dict):
        if "_target_" in node:
            target = str(node["_target_"])
            if target not in allowed_targets():  # never import what conf/ does not name
                return f"{where}_target_", f"'{target}' is not a class conf/ names"
            found = _against(signature_schema(target), node, where)
            if found:
                return found
        items = [(f"{where}{k}.", v) for k, v in node.items() if k != "hydra"]
    else:
        return None
    for sub, value in items:
        found = _targets_problem(value, sub)
        if found:
            return found
    return None


def _against(ns: NodeSchema, node: dict, where: str) -> tuple[str, str] | None:
    names = {f.name for f in dataclasses.fields(ns.schema)}
    values = {k: v for k, v in node.items() if not str(k).startswith("_")}
    if ns.open:
        values = {k: v for k, v in values.items() if k in names}
    try:
        OmegaConf.merge(OmegaConf.structured(ns.schema), values)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"{where}{key}", one_line(msg.replace("Schema'", "'"), 200)
    for name in sorted(ns.required - set(values)):
        return f"{where}{name}", "missing: the code has no default and conf/ sets none"
    return None


@functools.cache
def dataclass_schema(cls: type) -> NodeSchema:
    """A plain dataclass of the code (every field required)."""
    hints = typing.get_type_hints(cls)
    fields = [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]
    return NodeSchema(_checkable(cls.__name__, fields), frozenset(n for n, _ in fields))


@functools.cache
def signature_schema(target: str) -> NodeSchema:
    """The constructor parameters of the class `target` names (an allowed `_target_`)."""
    module, name = target.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    hints = typing.get_type_hints(cls.__init__)
    params = inspect.signature(cls).parameters.values()
    named = [p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    fields = [(p.name, hints.get(p.name, Any)) for p in named]
    return NodeSchema(
        _checkable(name, fields),
        frozenset(p.name for p in named if p.default is p.empty),
        open=any(p.kind is p.VAR_KEYWORD for p in params),
    )


def _checkable(name: str, fields: list[tuple[str, object]]) -> type:
    typed = [(n, _omegaconf_type(tp), dataclasses.field(default=MISSING)) for n, tp in fields]
    return dataclasses.make_dataclass(f"{name}Schema", typed)


def _omegaconf_type(tp: object) -> object:
    """The nearest type OmegaConf 2.3 checks: Literal -> Enum, Sequence -> List,
    Mapping -> Dict, X | None -> Optional; anything else it cannot check -> Any."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp in (int, float, bool, str):
        return tp
    if origin is Literal and all(isinstance(a, str) for a in args):
        return Enum("Choice", {a: a for a in args})
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = _omegaconf_type(rest[0]) if len(rest) == 1 else Any
        return Optional[inner] if len(rest) < len(args) else inner  # noqa: UP045 (OmegaConf)
    if origin in (list, tuple, collections.abc.Sequence):
        item = args[0] if args and (origin is not tuple or args[-1] is Ellipsis) else Any
        return list[_omegaconf_type(item)]
    if tp in (dict, collections.abc.Mapping) or origin in (dict, collections.abc.Mapping):
        return dict[str, Any]
    return Any
