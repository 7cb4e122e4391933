"""Cross-field rules of a typed claim: what the schema's types cannot say.

Called by replication/claimfile.py after typing; the first failure is raised as a ClaimError
naming the file and the field. What a claim may *reach* (names, overrides, numbers) is
replication/guard.py's allow-list, applied here to every field that holds one.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from replication import guard, one_line
from replication.claims import (
    DEVICES,
    FAITHFUL,
    MAX_SEEDS,
    MIN_FIRST_LOOK,
    PROTOCOLS,
    VERDICT_PROTOCOL,
    Claim,
    ClaimError,
    Protocol,
)
from replication.confscan import budget_profiles
from replication.effect_rules import check_effect
from replication.metrics import METRICS

SEED_LIMIT = 2**32  # seeds feed numpy's SeedSequence and torch.manual_seed
MAX_CONFIGS, MAX_RUNS = 512, 20_000  # a claim's size: each bound alone would multiply


def check(claim: Claim, path: Path) -> None:
    """Every rule, in field order; raises ClaimError at the first that fails."""

    def fail(where: str, msg: str) -> None:
        raise ClaimError(path, where, msg)

    problem = guard.name_problem(claim.id)
    if problem:
        fail("id", problem)
    if path.stem != claim.id:
        fail("id", f"id '{claim.id}' differs from the file name '{path.stem}'")
    found = guard.bounds_problem(claim)
    if found:
        fail(*found)
    missing = [p for p in PROTOCOLS if p not in claim.protocols]
    if missing:
        fail("protocols", f"missing protocol(s) {missing}; every claim needs {list(PROTOCOLS)}")
    for name, proto in claim.protocols.items():
        _check_protocol(name, proto, fail)
    configs, runs = _size(claim)
    if configs > MAX_CONFIGS or runs > MAX_RUNS:
        fail(
            "protocols",
            f"{configs:,} distinct run configs and {runs:,} runs at most; a claim may have "
            f"{MAX_CONFIGS} and {MAX_RUNS:,}",
        )
    if not claim.effects:
        fail("effects", "a claim needs at least one effect")
    for i, eff in enumerate(claim.effects):
        if guard.name_problem(eff.name):
            fail(f"effects[{i}].name", guard.name_problem(eff.name))
        if eff.protocol not in claim.protocols or eff.protocol == FAITHFUL:
            fail(
                f"effects[{i}].protocol",
                f"'{eff.protocol}' is not an audit protocol of this "
                f"claim ({[p for p in claim.protocols if p != FAITHFUL]})",
            )
        check_effect(f"effects[{i}]", eff, claim.protocols[eff.protocol].arms, fail)
    head = claim.effects[0]
    if head.protocol != VERDICT_PROTOCOL:
        fail(
            "effects[0].protocol", f"the headline effect's verdict comes from '{VERDICT_PROTOCOL}'"
        )
    names = [e.name for e in claim.effects]
    if len(set(names)) != len(names):
        fail("effects", "duplicate effect names")
    for i, chk in enumerate(claim.checks):
        if guard.name_problem(chk.name):
            fail(f"checks[{i}].name", guard.name_problem(chk.name))
        if chk.metric not in METRICS:
            fail(f"checks[{i}].metric", f"unknown metric '{chk.metric}' ({_known()})")
        for j, m in enumerate(chk.show):
            if m not in METRICS:
                fail(f"checks[{i}].show[{j}]", f"unknown metric '{m}' ({_known()})")
    for rule in ("params", "flops", "steps", "examples"):
        tol = getattr(claim.parity, rule)
        if tol is not None and tol < 0:
            fail(f"parity.{rule}", f"tolerance must be >= 0 (or null), got {tol}")
    profiles = budget_profiles()
    for name in claim.budgets:
        if name not in profiles:
            fail(f"budgets.{name}", f"unknown budget profile (conf/budget has: {profiles})")
    for where, overrides in override_lists(claim):
        for i, ov in enumerate(overrides):
            problem = guard.override_problem(ov)
            if problem:
                fail(f"{where}[{i}]", f"'{one_line(ov, 120)}': {problem}")


def _check_seeds(where: str, seeds: list[int], fail) -> None:
    if not seeds:
        fail(where, "empty seed list")
    if len(seeds) > MAX_SEEDS:
        fail(where, f"{len(seeds)} seeds; at most {MAX_SEEDS} (the largest n_max)")
    if len(set(seeds)) != len(seeds):
        fail(where, "duplicate seeds")
    bad = [s for s in seeds if not 0 <= s < SEED_LIMIT]
    if bad:
        fail(where, f"seeds must lie in [0, 2**32), got {bad[0]}")


def _check_protocol(name: str, proto: Protocol, fail) -> None:
    where = f"protocols.{name}"
    if guard.name_problem(name):
        fail(where, guard.name_problem(name))
    if name not in PROTOCOLS and not name.startswith("audit_"):
        fail(where, f"unknown protocol '{name}' (faithful, audit, or audit_<what>)")
    if proto.device not in DEVICES:
        fail(f"{where}.device", f"unknown device '{proto.device}' ({list(DEVICES)})")
    for i, m in enumerate(proto.show):
        if m not in METRICS:
            fail(f"{where}.show[{i}]", f"unknown metric '{m}' ({_known()})")
    for key, value in proto.metrics.items():
        for m in (key, value):
            if m not in METRICS:
                fail(f"{where}.metrics.{key}", f"unknown metric '{m}' ({_known()})")
    if len(proto.arms) < 2:
        fail(f"{where}.arms", "a protocol needs at least two arms: a treatment and a baseline")
    for arm in proto.arms:
        if guard.name_problem(arm):
            fail(f"{where}.arms", guard.name_problem(arm))
    _check_seeds(f"{where}.seeds", proto.seeds, fail)
    if proto.tuning is not None:
        t = proto.tuning
        problem = guard.key_problem(t.param)
        if problem:
            fail(f"{where}.tuning.param", f"'{one_line(t.param, 80)}': {problem}")
        if t.metric not in METRICS:
            fail(f"{where}.tuning.metric", f"unknown metric '{t.metric}' ({_known()})")
        if not t.values:
            fail(f"{where}.tuning.values", "empty grid")
        if len(set(t.values)) != len(t.values):
            fail(f"{where}.tuning.values", "duplicate grid values")
        _check_seeds(f"{where}.tuning.seeds", t.seeds, fail)
        if set(t.seeds) & set(proto.seeds):
            fail(f"{where}.tuning.seeds", "tuning seeds must differ from evaluation seeds")
        for arm in t.arms:
            if arm not in proto.arms:
                fail(f"{where}.tuning.arms", f"unknown arm '{arm}'")
    if proto.sequential is not None:
        s = proto.sequential
        looks = s.looks
        if not looks or any(b <= a for a, b in itertools.pairwise(looks)):
            fail(f"{where}.sequential.looks", f"looks must increase, got {looks}")
        if looks and looks[0] < MIN_FIRST_LOOK:
            fail(
                f"{where}.sequential.looks",
                f"the first look needs at least {MIN_FIRST_LOOK} seeds (got {looks[0]}): no "
                "interval from fewer pairs holds its level when the differences are skewed",
            )
        if looks and looks[-1] > min(MAX_SEEDS, len(proto.seeds)):
            fail(
                f"{where}.sequential.looks",
                f"the last look ({looks[-1]}) exceeds the "
                f"{len(proto.seeds)} seeds listed (or {MAX_SEEDS}, the largest n_max)",
            )
        if not 0 < s.alpha < 1 or not 0 < s.power < 1:
            fail(f"{where}.sequential", "alpha and power must lie in (0, 1)")
    if proto.reference is not None:
        ref = proto.reference
        if ref.metric not in METRICS:
            fail(f"{where}.reference.metric", f"unknown metric '{ref.metric}' ({_known()})")
        for arm in ref.values:
            if arm not in proto.arms:
                fail(f"{where}.reference.values.{arm}", f"unknown arm '{arm}'")


def _size(claim: Claim) -> tuple[int, int]:
    """(distinct run configs, runs) of the full-size sweep: arms x tuning values, and every
    seed and tuning trial."""
    configs = runs = 0
    for p in claim.protocols.values():
        t = p.tuning
        tuned = len(t.arms or p.arms) if t else 0
        configs += len(p.arms) - tuned + tuned * (len(t.values) if t else 0)
        runs += len(p.arms) * len(p.seeds) + (tuned * len(t.values) * len(t.seeds) if t else 0)
    return configs, runs


def override_lists(claim: Claim) -> list[tuple[str, list[str]]]:
    """Every list of Hydra overrides in a claim, with the field it is."""
    lists = [("overrides", claim.overrides)]
    lists += [(f"budgets.{k}", v) for k, v in claim.budgets.items()]
    for name, proto in claim.protocols.items():
        lists.append((f"protocols.{name}.overrides", proto.overrides))
        lists += [(f"protocols.{name}.arms.{a}", v) for a, v in proto.arms.items()]
    return lists


def _known() -> str:
    return "known: " + ", ".join(sorted(METRICS))
