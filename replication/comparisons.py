"""One paired comparison, from per-seed pairs to a decision: estimate, CI, the rule of its
kind (superiority, non-inferiority, equivalence), p-values and the seeds a decision needs; a
compound effect is the intersection of its parts; a count is decided by construction.

analysis.py replays these over a protocol's looks; calibration.py feeds them synthetic
pairs, so both use exactly these rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication import verdicts
from replication.claims import (
    Comparison,
    Direction,
    Effect,
    Kind,
    Scale,
    from_analysis_scale,
    margin_on_analysis_scale,
    to_analysis_scale,
)
from replication.energy_rules import energy_gate, energy_split
from replication.stats import (
    Interval,
    cohens_dz,
    confidence_interval,
    detectable,
    differences,
    n_required,
    p_greater,
    p_less,
    paired_table,
    prob_improvement,
    rng_for,
    skewness,
    tost_p,
    unpaired_seeds,
)
from replication.verdicts import Decision, Verdict


@dataclass(frozen=True)
class Design:
    looks: list[int]
    alpha: float
    power: float

    @property
    def n_max(self) -> int:
        return self.looks[-1]

    @property
    def alpha_look(self) -> float:
        return self.alpha / len(self.looks)

    @property
    def level(self) -> float:
        return 1 - self.alpha_look


@dataclass
class Result:
    """One effect (or one part of a compound) evaluated at one look."""

    name: str
    spec: Comparison
    decision: Decision
    n: int = 0
    mean: float = math.nan  # analysis scale, + = claimed direction
    ci: Interval | None = None
    threshold: float = math.nan  # claimed size, non-inferiority bound or equivalence margin
    margin: float = math.nan
    pairs: pd.DataFrame | None = None  # seed, treatment, baseline, diff
    unpaired: dict[int, str] = field(default_factory=dict)
    p_confirm: float = math.nan  # one-sided p-value behind a confirmation
    p_refute: float = math.nan  # one-sided p-value behind a refutation
    p_confirm_adj: float = math.nan  # Holm-adjusted within the claim
    p_refute_adj: float = math.nan
    n_confirm: float = math.inf  # seeds projected to confirm / refute
    n_refute: float = math.inf
    mde: float = math.nan  # smallest difference detectable at n_max (analysis scale)
    parts: list[Result] = field(default_factory=list)
    frontier: pd.DataFrame | None = None
    parity_failures: list[str] = field(default_factory=list)
    secondary: dict = field(default_factory=dict)
    look: int | None = None  # seeds at the look that froze it
    energy_method: str = ""  # an energy comparison's measurement method(s), shown beside it
    energy_split: dict = field(default_factory=dict)  # energy ratio = steps x J/step ratios

    def shown(self, x: float) -> float:
        """An analysis-scale number in the claim's units (fraction, factor or absolute)."""
        return from_analysis_scale(x, self.spec.scale, self.spec.direction)

    @property
    def by_construction(self) -> bool:
        """Decided by arithmetic (every seed gave each arm the same value), not by a test."""
        return self.decision.verdict in (Verdict.HOLDS, Verdict.FAILS)

    @property
    def n_needed(self) -> float:
        return min(self.n_confirm, self.n_refute)


# ------------------------------------------------------------------ one comparison


def evaluate_comparison(
    df: pd.DataFrame, c: Comparison, name: str, key: tuple[str, ...], d: Design
) -> Result:
    """Paired estimate, CI, decision, p-values and power projection of one comparison."""
    c, methods, refusal = energy_gate(df, c)
    pairs = paired_table(df, c.metric, c.treatment, c.baseline)
    if refusal:
        r = Result(name, c, verdicts.unauditable([refusal]), len(pairs), pairs=pairs)
    else:
        r = judge_pairs(pairs, c, name, key, d)
    r.unpaired = unpaired_seeds(df, c.treatment, c.baseline)
    if methods:
        r.energy_method = ", ".join(methods)
        r.energy_split = energy_split(df, c)
    return r


def judge_pairs(
    pairs: pd.DataFrame,
    c: Comparison,
    name: str,
    key: tuple[str, ...],
    d: Design,
    *,
    secondary: bool = True,
) -> Result:
    """The decision of one comparison from its per-seed pairs (columns seed, treatment,
    baseline). The calibration suite calls this directly, so it measures the real rules."""
    if not len(pairs):
        return Result(
            name, c, verdicts.not_estimable("no seed has a complete pair"), 0, pairs=pairs
        )
    try:
        diffs = differences(pairs, c.scale, c.direction)
    except ValueError as err:  # e.g. a zero accuracy on a log-ratio scale
        return Result(name, c, verdicts.not_estimable(str(err)), len(pairs), pairs=pairs)
    if len(diffs) > 1 and pairs["treatment"].nunique() == 1 and pairs["baseline"].nunique() == 1:
        return _by_construction(pairs.assign(diff=diffs), c, name)
    ci = confidence_interval(diffs, level=d.level)
    mean = float(diffs.mean()) if len(diffs) else math.nan
    r = Result(
        name, c, verdicts.no_interval(), len(diffs), mean, ci, pairs=pairs.assign(diff=diffs)
    )
    r.margin = margin_on_analysis_scale(c.margin, c.scale)
    RULES[c.kind](r, diffs, pairs, d)
    sd = float(diffs.std(ddof=1)) if len(diffs) > 1 else math.nan
    r.mde = detectable(d.n_max, sd, d.alpha_look / 2, d.power)
    if secondary and len(diffs) > 1:
        better_high = c.direction is not Direction.decrease
        r.secondary = {
            "prob_improvement": prob_improvement(
                pairs["treatment"], pairs["baseline"], better_high, rng=rng_for(*key, "pi")
            ),
            "cohens_dz": cohens_dz(diffs),
        }
    return r


def _by_construction(pairs: pd.DataFrame, c: Comparison, name: str) -> Result:
    """Every seed gives each arm one and the same value: a count or an identity, decided by
    arithmetic. No CI and no p-values, so Holm and BH leave it out."""
    r = Result(name, c, verdicts.no_interval(), len(pairs), float(pairs["diff"].iloc[0]))
    r.pairs, r.margin = pairs, margin_on_analysis_scale(c.margin, c.scale)
    d = r.mean
    if c.kind is Kind.superiority:
        r.threshold = to_analysis_scale(c.size, c.scale, c.direction)
        holds = d >= r.threshold
    elif c.kind is Kind.non_inferiority:
        r.threshold = -(to_analysis_scale(c.cost, c.scale, Direction.increase) + r.margin)
        holds = d > r.threshold
    else:
        r.threshold = r.margin
        holds = abs(d) < r.margin
    t, b = pairs["treatment"].iloc[0], pairs["baseline"].iloc[0]
    what = f"{c.metric} is {t:.6g} for {c.treatment} and {b:.6g} for {c.baseline}"
    what += f" in all {len(pairs)} seeds"
    r.decision = verdicts.by_construction(bool(holds), what)
    return r


def _superiority(r: Result, d: np.ndarray, pairs: pd.DataFrame, des: Design) -> None:
    c = r.spec
    r.threshold = to_analysis_scale(c.size, c.scale, c.direction)
    r.decision = verdicts.superiority(r.ci.low, r.ci.high, r.threshold, r.margin)
    r.p_confirm, r.p_refute = p_greater(d, r.margin), p_less(d, r.threshold)
    # confirming also needs U >= c, which fails with probability alpha/2 at the claimed size
    _project(
        r,
        d,
        des,
        confirm=r.mean - r.margin,
        refute=r.threshold - r.mean,
        confirm_power=des.power + des.alpha_look / 2,
    )


def _non_inferiority(r: Result, d: np.ndarray, pairs: pd.DataFrame, des: Design) -> None:
    c = r.spec
    r.threshold = -(to_analysis_scale(c.cost, c.scale, Direction.increase) + r.margin)
    r.decision = verdicts.non_inferiority(r.ci.low, r.ci.high, r.threshold)
    r.p_confirm, r.p_refute = p_greater(d, r.threshold), p_less(d, r.threshold)
    _project(r, d, des, confirm=r.mean - r.threshold, refute=r.threshold - r.mean)


def _equivalence(r: Result, d: np.ndarray, pairs: pd.DataFrame, des: Design) -> None:
    c = r.spec
    r.threshold = r.margin
    r.p_confirm = tost_p(
        pairs["treatment"], pairs["baseline"], r.margin, log=c.scale is not Scale.absolute
    )
    r.p_refute = min(p_greater(d, r.margin), p_less(d, -r.margin))
    r.decision = verdicts.equivalence(r.ci.low, r.ci.high, r.margin, r.p_confirm, des.alpha_look)
    _project(r, d, des, confirm=r.margin - abs(r.mean), refute=abs(r.mean) - r.margin, skew=0.0)


RULES = {
    Kind.superiority: _superiority,
    Kind.non_inferiority: _non_inferiority,
    Kind.equivalence: _equivalence,
}


def _project(
    r: Result,
    d: np.ndarray,
    des: Design,
    confirm: float,
    refute: float,
    confirm_power: float | None = None,
    skew: float | None = None,
) -> None:
    """Seeds a one-sided test at the look's level needs to reach each decision, taking the
    observed mean, spread and skewness as the truth (confirming tests upwards, refuting
    downwards, so the skew enters with opposite signs; equivalence passes skew 0)."""
    if len(d) < 2:
        return
    sd = float(d.std(ddof=1))
    g = skewness(d) if skew is None and len(d) >= 3 else (skew or 0.0)
    a = des.alpha_look / 2
    r.n_confirm = n_required(confirm, sd, a, confirm_power or des.power, g)
    r.n_refute = n_required(refute, sd, a, des.power, -g)


# ------------------------------------------------------------------ compound


def evaluate_compound(df: pd.DataFrame, e: Effect, key: tuple[str, ...], d: Design) -> Result:
    parts = [
        evaluate_comparison(df, p, f"{e.name}[{i}]", (*key, str(i)), d)
        for i, p in enumerate(e.parts)
    ]
    names = [f"{p.spec.kind.value} on {p.spec.metric}" for p in parts]
    r = Result(
        e.name,
        e,
        verdicts.compound([p.decision for p in parts], names),
        n=min(p.n for p in parts),
        parts=parts,
    )
    r.p_confirm = max(p.p_confirm for p in parts)  # intersection-union: all must hold
    r.p_refute = min(p.p_refute for p in parts)  # one refuted part is enough
    r.n_confirm = max(p.n_confirm for p in parts)
    r.n_refute = min(p.n_refute for p in parts)
    return r
