"""Claim specs: the schema of claims/<id>.yaml and the one loader that validates it.

A claim file is data. It names options of the groups in conf/ (as Hydra overrides) and never
Python objects, so loading one imports nothing. Every error names the file and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from replication import CONF_DIR
from replication.metrics import METRICS

PROTOCOLS = ("faithful", "audit")
VERDICT_PROTOCOL = "audit"


class ClaimError(ValueError):
    """A claim file that cannot be run as written: `str()` names the file and the field."""

    def __init__(self, path: Path | str, field_name: str, message: str) -> None:
        self.path, self.field, self.message = str(path), field_name, message
        super().__init__(f"{path}: field '{field_name}': {message}")


class Direction(Enum):
    increase = "increase"
    decrease = "decrease"


class Scale(Enum):
    absolute = "absolute"  # difference in the metric's own units (accuracy points as fractions)
    relative = "relative"  # ratio treatment/baseline, analysed as a per-seed log-ratio


@dataclass
class Source:
    post: str = MISSING  # where the claim was published
    repo: str = MISSING  # the authors' repository
    path: str = MISSING  # the script that produced the figure
    commit: str = MISSING
    doc: str | None = None  # the document that states the figure


@dataclass
class AuthorsFigure:
    text: str = MISSING  # the figure as the authors printed it
    treatment: float = MISSING
    baseline: float = MISSING


@dataclass
class Effect:
    name: str = MISSING
    metric: str = MISSING
    treatment: str = MISSING  # an arm name
    baseline: str = MISSING  # an arm name
    direction: Direction = MISSING  # the claimed direction of treatment vs baseline
    size: float = MISSING  # claimed size c > 0 (absolute units, or a fraction if relative)
    scale: Scale = MISSING
    margin: float = MISSING  # smallest effect that matters, 0 < margin < size
    authors: AuthorsFigure | None = None
    question: str = ""  # what this comparison tests, in plain words


@dataclass
class Tuning:
    """Equal tuning budget: every arm gets the same grid on the same seeds, chosen on `metric`."""

    param: str = MISSING  # a config key, e.g. optim.lr
    values: list[float] = MISSING
    seeds: list[int] = MISSING
    metric: str = MISSING


@dataclass
class Reference:
    """Another run of the authors' own code (not ours), to check our faithful re-run against."""

    text: str = MISSING  # who ran what, where
    metric: str = MISSING
    values: dict[str, float] = MISSING  # arm -> mean of the metric over the protocol's seeds


@dataclass
class Protocol:
    description: str = MISSING
    overrides: list[str] = field(default_factory=list)  # applied to every arm of the protocol
    arms: dict[str, list[str]] = MISSING  # arm name -> Hydra overrides of conf/ groups
    seeds: list[int] = MISSING  # seed i gives every arm the same data, split and init
    tuning: Tuning | None = None
    deviations: list[str] = field(default_factory=list)  # known flaws kept (faithful) or fixed
    reference: Reference | None = None


@dataclass
class Check:
    """A secondary number the claim states; reported per arm with CIs, never a verdict."""

    name: str = MISSING
    metric: str = MISSING
    text: str = MISSING  # the claim's own words
    authors_value: float | None = None
    note: str = ""


@dataclass
class Claim:
    id: str = MISSING
    title: str = MISSING
    quote: str = MISSING  # the claim, verbatim
    source: Source = MISSING
    overrides: list[str] = field(default_factory=list)  # applied to every run of the claim
    protocols: dict[str, Protocol] = MISSING
    effects: list[Effect] = field(default_factory=list)  # the first one is the headline
    checks: list[Check] = field(default_factory=list)
    budgets: dict[str, list[str]] = field(default_factory=dict)  # profile -> extra overrides
    path: str = ""  # filled by the loader


_RECORD_LISTS = {"effects": Effect, "checks": Check}


def budget_profiles() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "budget").glob("*.yaml"))


def load_claim(path: Path | str) -> Claim:
    """Read and validate one claim file; raises ClaimError naming the file and field."""
    path = Path(path)
    if not path.is_file():
        raise ClaimError(path, "id", "no such claim file")
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path))
    except Exception as err:  # YAML syntax errors and the like
        raise ClaimError(path, "?", _first_line(err)) from None
    if not isinstance(raw, dict):
        raise ClaimError(path, "?", "a claim file must be a mapping")
    # Lists of records are typed one item at a time: OmegaConf drops the list index from the
    # key of an error raised while merging a whole list, and the index is what users need.
    items = {k: raw.pop(k) for k in _RECORD_LISTS if isinstance(raw.get(k), list)}
    claim = _typed(Claim, raw, "", path)
    for key, schema in _RECORD_LISTS.items():
        if key in items:
            typed = [_typed(schema, it, f"{key}[{i}].", path) for i, it in enumerate(items[key])]
            setattr(claim, key, typed)
    claim.path = str(path)
    _check(claim, path)
    return claim


def _typed(schema: type, raw: object, prefix: str, path: Path):
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        raise ClaimError(path, prefix + key, _first_line(err)) from None


def find_claim(claim_id: str, claims_dir: Path | str) -> Claim:
    claims_dir = Path(claims_dir)
    path = claims_dir / f"{claim_id}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in claims_dir.glob("*.yaml"))) or "none"
        raise ClaimError(
            path, "id", f"unknown claim '{claim_id}' (claims in {claims_dir}: {known})"
        )
    claim = load_claim(path)
    if claim.id != claim_id:
        raise ClaimError(path, "id", f"file is named {claim_id}.yaml but its id is '{claim.id}'")
    return claim


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _check(claim: Claim, path: Path) -> None:
    """Cross-field rules the type system cannot express."""

    def fail(where: str, msg: str) -> None:
        raise ClaimError(path, where, msg)

    if path.stem != claim.id:
        fail("id", f"id '{claim.id}' differs from the file name '{path.stem}'")
    missing = [p for p in PROTOCOLS if p not in claim.protocols]
    if missing:
        fail("protocols", f"missing protocol(s) {missing}; every claim needs {list(PROTOCOLS)}")
    for name, proto in claim.protocols.items():
        where = f"protocols.{name}"
        if name not in PROTOCOLS:
            fail(where, f"unknown protocol '{name}' (allowed: {list(PROTOCOLS)})")
        if not proto.arms:
            fail(f"{where}.arms", "no arms")
        if not proto.seeds:
            fail(f"{where}.seeds", "empty seed list")
        if len(set(proto.seeds)) != len(proto.seeds):
            fail(f"{where}.seeds", "duplicate seeds")
        for arm in proto.arms:
            if "/" in arm or arm.startswith("."):
                fail(f"{where}.arms.{arm}", "arm names are used as folder names: no '/'")
        if proto.tuning is not None:
            t = proto.tuning
            if t.metric not in METRICS:
                fail(f"{where}.tuning.metric", f"unknown metric '{t.metric}' ({_known()})")
            if not t.values:
                fail(f"{where}.tuning.values", "empty grid")
            if not t.seeds:
                fail(f"{where}.tuning.seeds", "empty seed list")
            if set(t.seeds) & set(proto.seeds):
                fail(f"{where}.tuning.seeds", "tuning seeds must differ from evaluation seeds")
        if proto.reference is not None:
            ref = proto.reference
            if ref.metric not in METRICS:
                fail(f"{where}.reference.metric", f"unknown metric '{ref.metric}' ({_known()})")
            for arm in ref.values:
                if arm not in proto.arms:
                    fail(f"{where}.reference.values.{arm}", f"unknown arm '{arm}'")
    if not claim.effects:
        fail("effects", "a claim needs at least one effect")
    for i, eff in enumerate(claim.effects):
        where = f"effects[{i}]"
        if eff.metric not in METRICS:
            fail(f"{where}.metric", f"unknown metric '{eff.metric}' ({_known()})")
        audit_arms = claim.protocols[VERDICT_PROTOCOL].arms
        for role in ("treatment", "baseline"):
            arm = getattr(eff, role)
            if arm not in audit_arms:
                fail(
                    f"{where}.{role}",
                    f"unknown arm '{arm}' (arms of protocol '{VERDICT_PROTOCOL}': "
                    f"{', '.join(audit_arms)})",
                )
        if eff.treatment == eff.baseline:
            fail(f"{where}.baseline", "treatment and baseline are the same arm")
        if not (eff.size > 0 and math.isfinite(eff.size)):
            fail(f"{where}.size", f"claimed size must be a positive number, got {eff.size}")
        if not 0 < eff.margin < eff.size:
            fail(f"{where}.margin", f"need 0 < margin < size ({eff.size}), got {eff.margin}")
        if eff.scale is Scale.relative and eff.direction is Direction.decrease and eff.size >= 1:
            fail(f"{where}.size", "a relative decrease must be below 1 (100%)")
    names = [e.name for e in claim.effects]
    if len(set(names)) != len(names):
        fail("effects", "duplicate effect names")
    for i, chk in enumerate(claim.checks):
        if chk.metric not in METRICS:
            fail(f"checks[{i}].metric", f"unknown metric '{chk.metric}' ({_known()})")
    profiles = budget_profiles()
    for name in claim.budgets:
        if name not in profiles:
            fail(f"budgets.{name}", f"unknown budget profile (conf/budget has: {profiles})")
    for where, overrides in _override_lists(claim):
        for i, ov in enumerate(overrides):
            if "_target_" in ov:
                fail(f"{where}[{i}]", "claims name conf/ options; they may not set _target_")


def _override_lists(claim: Claim) -> list[tuple[str, list[str]]]:
    lists = [("overrides", claim.overrides)]
    lists += [(f"budgets.{k}", v) for k, v in claim.budgets.items()]
    for name, proto in claim.protocols.items():
        lists.append((f"protocols.{name}.overrides", proto.overrides))
        lists += [(f"protocols.{name}.arms.{a}", v) for a, v in proto.arms.items()]
    return lists


def _known() -> str:
    return "known: " + ", ".join(sorted(METRICS))
