"""Claim specs: the schema of claims/<id>.yaml and the one loader that validates it.

A claim file is data. It names options of the groups in conf/ (as Hydra overrides) and never
Python objects, so loading one imports nothing. Every error names the file and the field.

Effect kinds (see docs/claims.md): superiority ("A beats B by c"), non_inferiority ("at most
`cost` worse"), equivalence ("equal": TOST within +-margin), compound (a trade-off: every part
must hold) and frontier ("X is Pareto-optimal" / "X is the best by the claim's scalar").
Scales: absolute (metric units), relative (a fraction: 0.088 = +8.8%, analysed as a
log-ratio), ratio (a factor: 8.1 = "8.1x", analysed as a log-ratio).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from replication import CONF_DIR
from replication.metrics import METRICS

PROTOCOLS = ("faithful", "audit")  # required; more audits may be named audit_<what>
VERDICT_PROTOCOL = "audit"
DEVICES = ("cpu", "cuda")
PARITY_RULES = ("params", "flops", "steps", "examples", "tuning")
MAX_SEEDS = 30  # the sequential design's largest n_max


class ClaimError(ValueError):
    """A claim file that cannot be run as written: `str()` names the file and the field."""

    def __init__(self, path: Path | str, field_name: str, message: str) -> None:
        self.path, self.field, self.message = str(path), field_name, message
        super().__init__(f"{path}: field '{field_name}': {message}")


class Kind(Enum):
    superiority = "superiority"
    non_inferiority = "non_inferiority"
    equivalence = "equivalence"
    compound = "compound"
    frontier = "frontier"


class Direction(Enum):
    increase = "increase"
    decrease = "decrease"


class Scale(Enum):
    absolute = "absolute"  # difference in the metric's own units (accuracy as a fraction)
    relative = "relative"  # size is a fraction: 0.088 means +8.8% (or -8.8% for decrease)
    ratio = "ratio"  # size is a factor: 8.1 means 8.1x (faster, smaller, ...)


class Optimality(Enum):
    front = "front"  # on the Pareto front of the objectives
    scalar = "scalar"  # best by the product of the objectives (e.g. loss x params)


class Replicate(Enum):
    run = "run"  # one full training run; epochs and evaluation batches are not replicates


class OnDiverged(Enum):
    failure = "failure"  # a diverged run fails its seed: the pair is dropped and counted
    worst = "worst"  # a diverged run scores the worst value any run of the protocol reached


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
    treatment: float | None = None
    baseline: float | None = None


@dataclass
class Comparison:
    """Two arms on one metric: the building block of every kind except frontier."""

    kind: Kind = Kind.superiority
    metric: str | None = None
    treatment: str | None = None  # an arm; parts of a compound inherit the effect's
    baseline: str | None = None
    direction: Direction | None = None  # the claimed direction of treatment vs baseline
    scale: Scale = Scale.absolute
    size: float | None = None  # superiority: the claimed size c
    cost: float | None = None  # non_inferiority: the loss the claim allows, >= 0
    margin: float | None = None  # smallest difference that matters (the equivalence bound)


@dataclass
class Objective:
    metric: str = MISSING
    direction: Direction = MISSING  # which way is better
    margin: float = MISSING  # differences within +-margin are ties
    scale: Scale = Scale.absolute


@dataclass
class Effect(Comparison):
    name: str = MISSING
    question: str = ""  # what this comparison tests, in plain words
    parts: list[Comparison] = field(default_factory=list)  # compound
    candidate: str | None = None  # frontier: the arm claimed optimal
    arms: list[str] = field(default_factory=list)  # frontier: arms compared (default: all)
    objectives: list[Objective] = field(default_factory=list)  # frontier: exactly two
    optimal: Optimality = Optimality.front
    parity_exempt: list[str] = field(default_factory=list)  # parity rules the claim is about
    authors: AuthorsFigure | None = None
    protocol: str = VERDICT_PROTOCOL  # the audit protocol whose runs give this effect's verdict


@dataclass
class Tuning:
    """Equal tuning budget: every arm gets the same grid on the same seeds, chosen on `metric`."""

    param: str = MISSING  # a config key, e.g. optim.lr
    values: list[float] = MISSING
    seeds: list[int] = MISSING
    metric: str = MISSING
    arms: list[str] = field(default_factory=list)  # arms that search (default: every arm)


@dataclass
class Sequential:
    """Looks at n seeds; alpha is split over the looks (Bonferroni) so the overall rate holds."""

    looks: list[int] = field(default_factory=lambda: [5, 10, 20])
    alpha: float = 0.05
    power: float = 0.8  # target power of the projection that stops hopeless audits


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
    sequential: Sequential | None = None  # None: one look at all seeds, alpha 0.05
    metrics: dict[str, str] = field(default_factory=dict)  # effect metric -> this protocol's
    # measure of it, e.g. {test_loss: train_loss_tail}: the authors' metric in the faithful run
    show: list[str] = field(default_factory=list)  # more metrics to tabulate per arm, no verdict
    device: str = "cpu"  # cpu | cuda: the budget profile run on a machine with it runs this
    exclusive: bool = False  # one run at a time (timings: no other run shares the machine)
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
class Parity:
    """Tolerances between treatment and baseline (relative; null = not checked)."""

    params: float | None = 0.0
    flops: float | None = 0.0
    steps: float | None = 0.0
    examples: float | None = 0.0
    tuning: bool = True  # same tuning grid and seeds for every arm


@dataclass
class Claim:
    id: str = MISSING
    title: str = MISSING
    quote: str = MISSING  # the claim, verbatim
    source: Source = MISSING
    replicate: Replicate = Replicate.run
    on_diverged: OnDiverged = OnDiverged.failure  # how a run whose loss went non-finite counts
    overrides: list[str] = field(default_factory=list)  # applied to every run of the claim
    protocols: dict[str, Protocol] = MISSING
    effects: list[Effect] = field(default_factory=list)  # the first one is the headline
    checks: list[Check] = field(default_factory=list)
    parity: Parity = field(default_factory=Parity)
    budgets: dict[str, list[str]] = field(default_factory=dict)  # profile -> extra overrides
    path: str = ""  # filled by the loader


# ------------------------------------------------------------------ scales


def to_analysis_scale(value: float, scale: Scale, direction: Direction | None) -> float:
    """A claimed size (or cost) in the claim's units -> the scale verdicts use.

    absolute: unchanged; relative: log(1 + v) for an increase, -log(1 - v) for a decrease;
    ratio: log(v).
    """
    if scale is Scale.absolute:
        return value
    if scale is Scale.ratio:
        return math.log(value)
    return math.log1p(value) if direction is not Direction.decrease else -math.log1p(-value)


def margin_on_analysis_scale(margin: float, scale: Scale) -> float:
    """Margins of relative and ratio claims are fractions: 0.02 means 2% either way."""
    return margin if scale is Scale.absolute else math.log1p(margin)


def from_analysis_scale(x: float, scale: Scale, direction: Direction | None) -> float:
    """Inverse of to_analysis_scale, for showing numbers in the claim's units."""
    if scale is Scale.absolute or math.isnan(x):
        return x
    if scale is Scale.ratio:
        return math.exp(x)
    return math.expm1(x) if direction is not Direction.decrease else -math.expm1(-x)


# ------------------------------------------------------------------ loading


def budget_profiles() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "budget").glob("*.yaml"))


def load_claim(path: Path | str) -> Claim:
    """Read and validate one claim file; raises ClaimError naming the file and field."""
    path = Path(path)
    if not path.is_file():
        raise ClaimError(path, "id", "no such claim file")
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path))
    except Exception as err:  # YAML syntax errors, duplicate keys and the like
        raise ClaimError(path, "?", _yaml_problem(err)) from None
    if not isinstance(raw, dict):
        raise ClaimError(path, "?", "a claim file must be a mapping")
    where = _interpolation(raw, "")
    if where is not None:
        raise ClaimError(
            path,
            where,
            "interpolations (${...}) are not allowed in claim files: "
            "a claim is data, resolved by nothing",
        )
    claim = _typed(Claim, raw, "", path)
    claim.path = str(path)
    for eff in claim.effects:  # parts compare the effect's arms unless they name their own
        for part in eff.parts:
            part.treatment = part.treatment or eff.treatment
            part.baseline = part.baseline or eff.baseline
            part.direction = part.direction or eff.direction
    _check(claim, path)
    return claim


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


def _typed(schema: type, raw: object, prefix: str, path: Path):
    """Merge raw data into the dataclass schema. Lists of dataclasses are typed one item at a
    time: OmegaConf drops the list index from errors raised while merging a whole list."""
    nested = {}
    if isinstance(raw, dict):
        raw = dict(raw)
        for name, elem in _dataclass_lists(schema).items():
            if isinstance(raw.get(name), list):
                nested[name] = (elem, raw.pop(name))
    try:
        obj = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        hint = ""
        if key == "replicate":
            hint = " (the replicate is one full training run; epochs and evaluation batches "
            hint += "are not independent replicates)"
        raise ClaimError(path, prefix + key, _first_line(err) + hint) from None
    for name, (elem, items) in nested.items():
        typed = [_typed(elem, it, f"{prefix}{name}[{i}].", path) for i, it in enumerate(items)]
        setattr(obj, name, typed)
    return obj


@functools.cache
def _dataclass_lists(schema: type) -> dict[str, type]:
    hints = typing.get_type_hints(schema)
    out = {}
    for f in dataclasses.fields(schema):
        tp = hints[f.name]
        args = typing.get_args(tp)
        if typing.get_origin(tp) is list and args and dataclasses.is_dataclass(args[0]):
            out[f.name] = args[0]
    return out


def _yaml_problem(err: Exception) -> str:
    """The useful lines of a YAML error: what was found, and where."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    found = [ln for ln in lines if ln.startswith(("found", "expected", "mapping values"))]
    at = [ln for ln in lines if ln.startswith("in ")]
    return "; ".join(found[:1] + at[-1:]) or _first_line(err)


def _interpolation(node: object, where: str) -> str | None:
    """The field of the first string holding ${...}, if any."""
    if isinstance(node, str):
        return where or "?" if "${" in node else None
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        sub = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip(".")
        found = _interpolation(child, sub)
        if found:
            return found
    return None


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _known() -> str:
    return "known: " + ", ".join(sorted(METRICS))


# ------------------------------------------------------------------ validation


def _check(claim: Claim, path: Path) -> None:
    """Cross-field rules the type system cannot express; the first failure is raised."""

    def fail(where: str, msg: str) -> None:
        raise ClaimError(path, where, msg)

    if path.stem != claim.id:
        fail("id", f"id '{claim.id}' differs from the file name '{path.stem}'")
    missing = [p for p in PROTOCOLS if p not in claim.protocols]
    if missing:
        fail("protocols", f"missing protocol(s) {missing}; every claim needs {list(PROTOCOLS)}")
    for name, proto in claim.protocols.items():
        _check_protocol(name, proto, fail)
    if not claim.effects:
        fail("effects", "a claim needs at least one effect")
    for i, eff in enumerate(claim.effects):
        if eff.protocol not in claim.protocols or eff.protocol == "faithful":
            fail(
                f"effects[{i}].protocol",
                f"'{eff.protocol}' is not an audit protocol of this "
                f"claim ({[p for p in claim.protocols if p != 'faithful']})",
            )
        _check_effect(f"effects[{i}]", eff, claim.protocols[eff.protocol].arms, fail)
    head = claim.effects[0]
    if head.protocol != VERDICT_PROTOCOL:
        fail(
            "effects[0].protocol", f"the headline effect's verdict comes from '{VERDICT_PROTOCOL}'"
        )
    names = [e.name for e in claim.effects]
    if len(set(names)) != len(names):
        fail("effects", "duplicate effect names")
    for i, chk in enumerate(claim.checks):
        if chk.metric not in METRICS:
            fail(f"checks[{i}].metric", f"unknown metric '{chk.metric}' ({_known()})")
    for rule in ("params", "flops", "steps", "examples"):
        tol = getattr(claim.parity, rule)
        if tol is not None and tol < 0:
            fail(f"parity.{rule}", f"tolerance must be >= 0 (or null), got {tol}")
    profiles = budget_profiles()
    for name in claim.budgets:
        if name not in profiles:
            fail(f"budgets.{name}", f"unknown budget profile (conf/budget has: {profiles})")
    for where, overrides in _override_lists(claim):
        for i, ov in enumerate(overrides):
            problem = _forbidden(ov)
            if problem:
                fail(f"{where}[{i}]", f"'{ov}': {problem}")


FORBIDDEN_KEYS = ("_target_", "_args_", "_partial_", "_recursive_", "_convert_")
RESERVED_ROOTS = (
    "hydra",
    "paths",
    "sweep",
    "launched_by",
    "claim_id",
    "protocol",
    "arm",
    "seed",
    "stage",
    "trial",
    "run_id",
)


def _forbidden(override: str) -> str | None:
    """Why a claim may not carry this override: claims choose conf/ options and values;
    they cannot name Python objects, redirect files or relabel runs."""
    key = override.split("=", 1)[0].lstrip("+~").split("@", 1)[0]
    if any(k in key for k in FORBIDDEN_KEYS) or any(k in override for k in FORBIDDEN_KEYS):
        return "claims name conf/ options; they may not set " + ", ".join(FORBIDDEN_KEYS)
    root = key.replace("/", ".").split(".", 1)[0]
    if root in RESERVED_ROOTS:
        return f"'{root}' is set by the harness, not by claims"
    return None


def _check_protocol(name: str, proto: Protocol, fail) -> None:
    where = f"protocols.{name}"
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
        for arm in t.arms:
            if arm not in proto.arms:
                fail(f"{where}.tuning.arms", f"unknown arm '{arm}'")
    if proto.sequential is not None:
        s = proto.sequential
        looks = s.looks
        if not looks or any(b <= a for a, b in itertools.pairwise(looks)):
            fail(f"{where}.sequential.looks", f"looks must increase, got {looks}")
        if looks and looks[0] < 2:
            fail(f"{where}.sequential.looks", "the first look needs at least 2 seeds")
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


def _check_effect(where: str, eff: Effect, arms: dict, fail) -> None:
    for rule in eff.parity_exempt:
        if rule not in PARITY_RULES:
            fail(f"{where}.parity_exempt", f"unknown parity rule '{rule}' ({list(PARITY_RULES)})")
    if eff.kind is Kind.frontier:
        _check_frontier(where, eff, arms, fail)
        return
    if eff.kind is Kind.compound:
        if len(eff.parts) < 2:
            fail(f"{where}.parts", "a compound claim needs at least two parts")
        for j, part in enumerate(eff.parts):
            if part.kind in (Kind.compound, Kind.frontier):
                fail(f"{where}.parts[{j}].kind", f"a part cannot be {part.kind.value}")
            _check_comparison(f"{where}.parts[{j}]", part, arms, fail)
        return
    _check_comparison(where, eff, arms, fail)


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
    if not (c.margin > 0 and math.isfinite(c.margin)):
        fail(f"{where}.margin", f"margin must be a positive number, got {c.margin}")
    if c.kind is Kind.superiority:
        _check_size(where, c, fail)
    if c.kind is Kind.non_inferiority:
        if c.direction is None:
            fail(f"{where}.direction", "a non_inferiority comparison needs direction")
        if c.cost is None or c.cost < 0:
            fail(f"{where}.cost", f"cost must be a number >= 0, got {c.cost}")


def _check_size(where: str, c: Comparison, fail) -> None:
    if c.direction is None:
        fail(f"{where}.direction", "a superiority comparison needs direction")
    if c.size is None or not (c.size > 0 and math.isfinite(c.size)):
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
        if eff.margin is None or eff.margin <= 0:
            fail(f"{where}.margin", "a scalar claim needs a relative margin > 0 (ties)")
    for j, obj in enumerate(eff.objectives):
        if obj.metric not in METRICS:
            fail(f"{where}.objectives[{j}].metric", f"unknown metric '{obj.metric}' ({_known()})")
        if obj.margin < 0:
            fail(f"{where}.objectives[{j}].margin", "margin must be >= 0")


def _override_lists(claim: Claim) -> list[tuple[str, list[str]]]:
    lists = [("overrides", claim.overrides)]
    lists += [(f"budgets.{k}", v) for k, v in claim.budgets.items()]
    for name, proto in claim.protocols.items():
        lists.append((f"protocols.{name}.overrides", proto.overrides))
        lists += [(f"protocols.{name}.arms.{a}", v) for a, v in proto.arms.items()]
    return lists
