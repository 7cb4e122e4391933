"""What conf/ itself declares, read from its files: the groups and their options, the keys
it derives by interpolation, the interpolations it writes and the classes it names.

The guard (replication/guard.py) and the composed-config checks (replication/validate.py)
allow a claim only what is listed here; nothing a claim says can add to these lists.
"""

from __future__ import annotations

import functools
import re

from replication import CONF_DIR

CLAIM_ROOTS = ("task", "model", "optim", "train", "stop")  # the components a claim configures


def budget_profiles() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "budget").glob("*.yaml"))


@functools.cache
def conf_groups() -> dict[str, frozenset[str]]:
    """conf/ group -> its option names, from the folder listing (e.g. model/router)."""
    return {
        d.relative_to(CONF_DIR).as_posix(): frozenset(p.stem for p in d.glob("*.yaml"))
        for d in sorted(CONF_DIR.rglob("*"))
        if d.is_dir()
    }


@functools.cache
def derived_keys() -> dict[str, str]:
    """Config key -> the interpolation conf/ sets it to (e.g. model.run_seed -> ${seed}):
    values the harness wires, which a claim may not replace."""
    out = {}
    for group, options in conf_groups().items():
        if group.split("/")[0] not in CLAIM_ROOTS:
            continue
        for option in options:
            text = (CONF_DIR / group / f"{option}.yaml").read_text()
            for key, value in re.findall(r"^(\w+):\s*(\$\{[^}]*\})\s*(?:#.*)?$", text, re.M):
                out[f"{group.replace('/', '.')}.{key}"] = value
    return out


@functools.cache
def allowed_targets() -> frozenset[str]:
    """The classes conf/ itself names under `_target_` inside this package: the only things a
    run may instantiate (claims cannot add conf files, and may not set _target_ at all)."""
    found = set()
    for path in CONF_DIR.rglob("*.yaml"):
        found |= set(re.findall(r"^\s*_target_:\s*(\S+)", path.read_text(), re.M))
    return frozenset(t for t in found if t.startswith("replication."))


@functools.cache
def conf_interpolations() -> frozenset[str]:
    """Every interpolation conf/ itself writes (e.g. `${task.vocab_size}`): the only ones a
    composed config may hold outside `hydra`."""
    found = set()
    for path in CONF_DIR.rglob("*.yaml"):
        found |= set(re.findall(r"\$\{[^}]*\}", path.read_text()))
    return frozenset(found)


def targets(node: object) -> list[str]:
    """Every `_target_` in a plain (container) config, at any depth."""
    if isinstance(node, dict):
        own = [str(node["_target_"])] if "_target_" in node else []
        return own + [t for v in node.values() for t in targets(v)]
    if isinstance(node, list):
        return [t for v in node for t in targets(v)]
    return []
