"""Claim specs: the schema of claims/<id>.yaml (read by replication/claimfile.py).

A claim file is data. It names options of the groups in conf/ (as Hydra overrides) and never
Python objects, so loading one imports nothing. Every error names the file and the field.

Effect kinds (see docs/claims.md): superiority ("A beats B by c"), non_inferiority ("at most
`cost` worse"), equivalence ("equal": TOST within +-margin), compound (a trade-off: every part
must hold) and frontier ("X is Pareto-optimal" / "X is the best by the claim's scalar").
Scales: absolute (metric units), relative (a fraction: 0.088 = +8.8%, analysed as a
log-ratio), ratio (a factor: 8.1 = "8.1x", analysed as a log-ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from omegaconf import MISSING

from replication import UserError

FAITHFUL = "faithful"  # the authors' protocol as they ran it
VERDICT_PROTOCOL = "audit"  # the headline audit: its verdict is the claim's
PROTOCOLS = (FAITHFUL, VERDICT_PROTOCOL)  # required; more audits may be named audit_<what>
DEVICES = ("cpu", "cuda")
PARITY_RULES = ("params", "flops", "steps", "examples", "tuning")
MAX_SEEDS = 30  # the sequential design's largest n_max


class ClaimError(UserError):
    """A claim file that cannot be run as written: `str()` names the file and the field, on
    one line."""

    def __init__(self, path: Path | str, field_name: str, message: str) -> None:
        self.path, self.field, self.detail = str(path), field_name, message
        super().__init__(f"{path}: field '{field_name}': {message}")

    def __reduce__(self):
        return (ClaimError, (self.path, self.field, self.detail))


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
    deviation: str | None = None  # how our data or setup departs from the source's (shown first)


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
    # arm -> other implementations of it (e.g. compiled): each side is judged at its best
    best_of: dict[str, list[str]] = field(default_factory=dict)
    protocol: str = VERDICT_PROTOCOL  # the audit protocol whose runs give this effect's verdict


@dataclass
class Tuning:
    """Equal tuning budget: every arm gets the same grid on the same seeds, chosen on `metric`."""

    param: str = MISSING  # a config key, e.g. optim.lr
    values: list[float] = MISSING
    seeds: list[int] = MISSING
    metric: str = MISSING
    arms: list[str] = field(default_factory=list)  # arms that search (default: every arm)


MIN_FIRST_LOOK = 10


@dataclass
class Sequential:
    """Looks at n seeds; alpha is split over the looks (Bonferroni) so the overall rate holds.
    The first look needs MIN_FIRST_LOOK seeds: no interval from fewer pairs holds its level
    at these alphas once the differences are skewed (reports/calibration.md)."""

    looks: list[int] = field(default_factory=lambda: [10, 20])
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
    long: bool = False  # hours of CPU: only budget profiles with long: true run it (BUDGET=long)
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
    show: list[str] = field(default_factory=list)  # metrics shown beside it (mean per arm)


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

    def authors_figure(self, e: Effect, metric: str | None) -> AuthorsFigure | None:
        """The authors' figure for `e` on `metric`: a compound's part takes the figure of the
        claim's own effect on that metric and the same arms, where there is one."""
        for other in self.effects if e.parts else []:
            same = (other.metric, other.treatment, other.baseline) == (
                metric,
                e.treatment,
                e.baseline,
            )
            if same and not other.parts and other.authors is not None:
                return other.authors
        return e.authors


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
