"""Rules of one effect: its kind's fields, sizes, margins and arms (called by claim_rules)."""

from __future__ import annotations

from replication.claims import (
    PARITY_RULES,
    Comparison,
    Direction,
    Effect,
    Kind,
    Optimality,
    Scale,
    margin_on_analysis_scale,
    to_analysis_scale,
)
from replication.metrics import METRICS

# Optional fields of an effect and the kinds that use them: a field set on another kind is
# a mistake of the claim's author (e.g. a `size` on a non-inferiority claim judges nothing).
USED_BY = {
    "size": (Kind.superiority,),
    "cost": (Kind.non_inferiority,),
    "parts": (Kind.compound,),
    "candidate": (Kind.frontier,),
    "arms": (Kind.frontier,),
    "objectives": (Kind.frontier,),
    "best_of": (Kind.superiority, Kind.non_inferiority, Kind.equivalence),
}


def check_effect(where: str, eff: Effect, arms: dict, fail) -> None:
    for rule in eff.parity_exempt:
        if rule not in PARITY_RULES:
            fail(f"{where}.parity_exempt", f"unknown parity rule '{rule}' ({list(PARITY_RULES)})")
    for name, kinds in USED_BY.items():
        if getattr(eff, name) not in (None, [], {}) and eff.kind not in kinds:
            fail(f"{where}.{name}", f"a {eff.kind.value} effect does not use {name}")
    if eff.kind is Kind.frontier:
        _check_frontier(where, eff, arms, fail)
        return
    if eff.kind is Kind.compound:
        if len(eff.parts) < 2:
            fail(f"{where}.parts", "a compound claim needs at least two parts")
        for j, part in enumerate(eff.parts):
            if part.kind in (Kind.compound, Kind.frontier):
                fail(f"{where}.parts[{j}].kind", f"a part cannot be {part.kind.value}")
            for name in ("size", "cost"):
                if getattr(part, name) is not None and part.kind not in USED_BY[name]:
                    kind = part.kind.value
                    fail(f"{where}.parts[{j}].{name}", f"a {kind} part does not use {name}")
            _check_comparison(f"{where}.parts[{j}]", part, arms, fail)
        return
    _check_comparison(where, eff, arms, fail)
    _check_best_of(where, eff, arms, fail)


def _check_best_of(where: str, eff: Effect, arms: dict, fail) -> None:
    """best_of: {treatment or baseline arm: [other implementations of it, in this protocol]}."""
    for arm, options in eff.best_of.items():
        if arm not in (eff.treatment, eff.baseline):
            fail(f"{where}.best_of", f"'{arm}' is neither the treatment nor the baseline")
        for j, other in enumerate(options):
            if other not in arms:
                fail(f"{where}.best_of.{arm}[{j}]", f"unknown arm '{other}' ({', '.join(arms)})")
    picks = [eff.treatment, *eff.best_of.get(eff.treatment, [])]
    if set(picks) & {eff.baseline, *eff.best_of.get(eff.baseline, [])}:
        fail(f"{where}.best_of", "the treatment's and the baseline's implementations overlap")


def _check_comparison(where: str, c: Comparison, arms: dict, fail) -> None:
    for name in ("metric", "treatment", "baseline", "margin"):
        if getattr(c, name) is None:
            fail(f"{where}.{name}", f"a {c.kind.value} comparison needs {name}")
    if c.metric not in METRICS:
        fail(f"{where}.metric", f"unknown metric '{c.metric}' ({_known()})")
    for role in ("treatment", "baseline"):
        arm = getattr(c, role)
        if arm not in arms:
            fail(
                f"{where}.{role}",
                f"unknown arm '{arm}' (arms of its protocol: {', '.join(arms)})",
            )
    if c.treatment == c.baseline:
        fail(f"{where}.baseline", "treatment and baseline are the same arm")
    if not c.margin > 0:
        fail(f"{where}.margin", f"margin must be a positive number, got {c.margin}")
    if c.scale is not Scale.absolute and not c.margin < 1:
        fail(f"{where}.margin", f"a {c.scale.value} margin is a fraction below 1, got {c.margin}")
    if c.kind is Kind.superiority:
        _check_size(where, c, fail)
    if c.kind is Kind.non_inferiority:
        if c.direction is None:
            fail(f"{where}.direction", "a non_inferiority comparison needs direction")
        if c.cost is None or c.cost < 0:
            fail(f"{where}.cost", f"cost must be a number >= 0, got {c.cost}")
        if c.scale is not Scale.absolute and not c.cost < 1:
            fail(f"{where}.cost", f"a {c.scale.value} cost is a fraction below 1, got {c.cost}")


def _check_size(where: str, c: Comparison, fail) -> None:
    if c.direction is None:
        fail(f"{where}.direction", "a superiority comparison needs direction")
    if c.size is None or not c.size > 0:
        fail(f"{where}.size", f"claimed size must be a positive number, got {c.size}")
    if c.scale is Scale.ratio and c.size <= 1:
        fail(f"{where}.size", f"a ratio claim is a factor above 1, got {c.size}")
    if c.scale is Scale.relative and c.direction is Direction.decrease and c.size >= 1:
        fail(f"{where}.size", "a relative decrease must be below 1 (100%)")
    claimed = to_analysis_scale(c.size, c.scale, c.direction)
    if not margin_on_analysis_scale(c.margin, c.scale) < claimed:
        fail(f"{where}.margin", f"need 0 < margin < size ({c.size}), got {c.margin}")


def _check_frontier(where: str, eff: Effect, arms: dict, fail) -> None:
    compared = eff.arms or list(arms)
    for arm in compared:
        if arm not in arms:
            fail(f"{where}.arms", f"unknown arm '{arm}'")
    if eff.candidate not in compared:
        fail(f"{where}.candidate", f"candidate '{eff.candidate}' is not among {compared}")
    if len(eff.objectives) != 2:
        fail(f"{where}.objectives", "a frontier claim needs exactly two objectives")
    if eff.optimal is Optimality.scalar:
        if len({o.direction for o in eff.objectives}) != 1:
            fail(
                f"{where}.objectives",
                "a scalar (product) needs both objectives to point the same way",
            )
        if eff.margin is None or not 0 < eff.margin < 1:
            fail(f"{where}.margin", "a scalar claim needs a relative margin in (0, 1) (ties)")
    elif eff.margin is not None:
        fail(f"{where}.margin", "a front claim's ties are the objectives' margins, not margin")
    for j, obj in enumerate(eff.objectives):
        if obj.metric not in METRICS:
            fail(f"{where}.objectives[{j}].metric", f"unknown metric '{obj.metric}' ({_known()})")
        if obj.margin < 0:
            fail(f"{where}.objectives[{j}].margin", "margin must be >= 0")


def _known() -> str:
    return "known: " + ", ".join(sorted(METRICS))
