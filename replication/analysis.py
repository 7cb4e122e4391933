"""From run records to verdicts: effects per kind, sequential looks, multiplicity.

evaluate_protocol() replays a protocol's looks over its records in seed order: at each look
(n = 5, 10, 20 seeds by default) every undecided effect is estimated with a CI at level
1 - alpha/K (Bonferroni over the K looks), its decision is passed through Holm's correction
over the claim's effects, and it is frozen once decided or once the projected number of seeds
exceeds n_max (underpowered). The sweeper calls the same function to know when to stop, and
the report calls it to show the verdicts, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication import parity, verdicts
from replication.claims import (
    Claim,
    Comparison,
    Direction,
    Effect,
    Kind,
    OnDiverged,
    Optimality,
    Protocol,
    Scale,
    from_analysis_scale,
    margin_on_analysis_scale,
    to_analysis_scale,
)
from replication.metrics import METRICS
from replication.stats import (
    N_RESAMPLES,
    Interval,
    cohens_dz,
    confidence_interval,
    detectable,
    differences,
    holm,
    n_required,
    p_greater,
    p_less,
    paired_table,
    prob_improvement,
    rng_for,
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


def design(proto: Protocol, max_seeds: int | None = None, families: int = 1) -> Design:
    """The protocol's looks (one look at every seed when it has no sequential block), capped
    by a budget's max_seeds. A claim with several audit protocols splits alpha evenly over
    them (`families`), so the claim's overall error rate stays at alpha."""
    if proto.sequential is None:
        looks, alpha, power = [len(proto.seeds)], 0.05, 0.8
    else:
        s = proto.sequential
        looks, alpha, power = list(s.looks), s.alpha, s.power
    if max_seeds is not None:
        looks = sorted({min(n, max_seeds) for n in looks})
    return Design(looks, alpha / families, power)


def audit_protocols(claim: Claim) -> list[str]:
    return [n for n in claim.protocols if n != "faithful"]


def protocol_effects(claim: Claim, protocol: str) -> list[Effect]:
    """The effects judged in a protocol: their own audit protocol's, or, in the faithful
    protocol, every effect whose arms it runs (to show the authors' own protocol's answer)."""
    proto = claim.protocols[protocol]
    if protocol == "faithful":
        found = [e for e in claim.effects if effect_arms(e, proto) is not None]
    else:
        found = [e for e in claim.effects if e.protocol == protocol]
    return [measured_as(e, proto) for e in found]


def measured_as(e: Effect, proto: Protocol) -> Effect:
    """The effect with its metrics as this protocol measures them (protocol.metrics)."""
    if not proto.metrics:
        return e
    m = proto.metrics
    return dataclasses.replace(
        e,
        metric=m.get(e.metric, e.metric),
        parts=[dataclasses.replace(p, metric=m.get(p.metric, p.metric)) for p in e.parts],
        objectives=[dataclasses.replace(o, metric=m.get(o.metric, o.metric)) for o in e.objectives],
    )


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

    def shown(self, x: float) -> float:
        """An analysis-scale number in the claim's units (fraction, factor or absolute)."""
        return from_analysis_scale(x, self.spec.scale, self.spec.direction)

    @property
    def n_needed(self) -> float:
        return min(self.n_confirm, self.n_refute)


# ------------------------------------------------------------------ one comparison


def evaluate_comparison(
    df: pd.DataFrame, c: Comparison, name: str, key: tuple[str, ...], d: Design
) -> Result:
    """Paired estimate, CI, decision, p-values and power projection of one comparison."""
    pairs = paired_table(df, c.metric, c.treatment, c.baseline)
    r = judge_pairs(pairs, c, name, key, d)
    r.unpaired = unpaired_seeds(df, c.treatment, c.baseline)
    return r


def judge_pairs(
    pairs: pd.DataFrame,
    c: Comparison,
    name: str,
    key: tuple[str, ...],
    d: Design,
    *,
    secondary: bool = True,
    n_resamples: int = N_RESAMPLES,
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
    ci = confidence_interval(diffs, rng=rng_for(*key), level=d.level, n_resamples=n_resamples)
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


def _single_difference(pairs: pd.DataFrame, c: Comparison) -> float:
    """The difference of a lone pair (authors' single-seed protocols), for display."""
    try:
        d = differences(pairs, c.scale, c.direction)
    except ValueError:
        return math.nan
    return float(d.mean()) if len(d) else math.nan


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
    _project(r, d, des, confirm=r.margin - abs(r.mean), refute=abs(r.mean) - r.margin)


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
) -> None:
    """Seeds a one-sided test at the look's level needs to reach each decision, taking the
    observed mean as the truth and the observed spread."""
    if len(d) < 2:
        return
    sd = float(d.std(ddof=1))
    r.n_confirm = n_required(confirm, sd, des.alpha_look / 2, confirm_power or des.power)
    r.n_refute = n_required(refute, sd, des.alpha_look / 2, des.power)


# ------------------------------------------------------------------ compound and frontier


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


def evaluate_frontier(
    df: pd.DataFrame, e: Effect, arms: list[str], key: tuple[str, ...], d: Design
) -> Result:
    """Candidate vs every other arm on both objectives (and on their product)."""
    df = df.copy()
    objs = e.objectives
    df["_scalar"] = (
        df[objs[0].metric] * df[objs[1].metric] if all(o.metric in df for o in objs) else math.nan
    )
    rows, dominated_by, unresolved_front, beaten_by, unresolved_scalar = [], [], [], [], []
    for other in [a for a in arms if a != e.candidate]:
        row = {"arm": other}
        wins = losses = 0
        for j, o in enumerate(objs):
            c = Comparison(
                Kind.superiority,
                o.metric,
                e.candidate,
                other,
                o.direction,
                o.scale,
                margin=max(o.margin, 1e-12),
            )
            ci, mean, n = _paired_ci(df, c, (*key, other, str(j)), d)
            m = margin_on_analysis_scale(o.margin, o.scale)
            row |= {
                f"{o.metric}: candidate better by": from_analysis_scale(mean, o.scale, None),
                f"{o.metric} CI": (
                    from_analysis_scale(ci.low, o.scale, None),
                    from_analysis_scale(ci.high, o.scale, None),
                ),
            }
            wins += ci.low > m
            losses += ci.high < -m
        row["n"] = n
        if losses == len(objs):
            dominated_by.append(other)
        elif wins == 0:
            unresolved_front.append(other)
        sc = Comparison(
            Kind.superiority,
            "_scalar",
            e.candidate,
            other,
            objs[0].direction,
            Scale.relative,
            margin=e.margin or 1e-12,
        )
        ci, mean, _ = _paired_ci(df, sc, (*key, other, "scalar"), d)
        ms = margin_on_analysis_scale(e.margin or 0.0, Scale.relative)
        row |= {"scalar: candidate better by": mean, "scalar CI": (ci.low, ci.high)}
        if ci.high < -ms:
            beaten_by.append(other)
        elif not ci.low > ms:
            unresolved_scalar.append(other)
        rows.append(row)
    front = verdicts.front(e.candidate, dominated_by, unresolved_front)
    best = verdicts.scalar_best(e.candidate, beaten_by, unresolved_scalar)
    decision = front if e.optimal is Optimality.front else best
    r = Result(
        e.name, e, decision, n=min((r["n"] for r in rows), default=0), frontier=pd.DataFrame(rows)
    )
    r.secondary = {"front": front, "scalar": best, "point_front": point_front(df, arms, objs)}
    r.n_confirm = r.n_refute = math.nan  # no projection for frontiers: never stopped as futile
    return r


def _paired_ci(
    df: pd.DataFrame, c: Comparison, key: tuple[str, ...], d: Design
) -> tuple[Interval, float, int]:
    """CI of the paired difference; an empty interval when it cannot be formed (a zero on a
    log scale), which the frontier rules read as unresolved."""
    pairs = paired_table(df, c.metric, c.treatment, c.baseline)
    try:
        diffs = differences(pairs, c.scale, c.direction)
    except ValueError:
        return Interval(math.nan, math.nan, "none", d.level), math.nan, len(pairs)
    ci = confidence_interval(diffs, rng=rng_for(*key), level=d.level)
    return ci, float(diffs.mean()) if len(diffs) else math.nan, len(diffs)


def point_front(df: pd.DataFrame, arms: list[str], objectives) -> list[str]:
    """Arms not dominated by another arm's means in both objectives (no CIs)."""
    ok = df[(df["stage"] == "eval") & (df["status"] == "complete")]
    means = {
        a: [
            ok.loc[ok["arm"] == a, o.metric].mean()
            * (1 if o.direction is Direction.increase else -1)
            for o in objectives
        ]
        for a in arms
    }
    return [
        a
        for a in arms
        if not any(
            all(mb >= ma for mb, ma in zip(means[b], means[a], strict=True))
            and any(mb > ma for mb, ma in zip(means[b], means[a], strict=True))
            for b in arms
            if b != a
        )
    ]


# ------------------------------------------------------------------ one effect


def effect_arms(e: Effect, proto: Protocol) -> list[str] | None:
    """The arms an effect compares in this protocol, or None when the protocol lacks one."""
    need = (e.arms or list(proto.arms)) if e.kind is Kind.frontier else [e.treatment, e.baseline]
    return need if all(a in proto.arms for a in need) else None


def evaluate_effect(df: pd.DataFrame, claim: Claim, e: Effect, protocol: str, d: Design) -> Result:
    proto = claim.protocols[protocol]
    arms = effect_arms(e, proto)
    key = (claim.id, e.name, protocol)
    metrics = (
        [o.metric for o in e.objectives]
        if e.kind is Kind.frontier
        else [p.metric for p in e.parts]
        if e.kind is Kind.compound
        else [e.metric]
    )
    pairs_to_check = (
        [(e.candidate, a) for a in arms if a != e.candidate]
        if e.kind is Kind.frontier
        else [(e.treatment, e.baseline)]
    )
    failed = []
    for a, b in pairs_to_check:
        failed += parity.failures(df, a, b, claim.parity, e.parity_exempt, metrics)
    if failed:
        r = Result(e.name, e, verdicts.unauditable(sorted(set(failed))))
        r.parity_failures = sorted(set(failed))
        return r
    if e.kind is Kind.frontier:
        return evaluate_frontier(df, e, arms, key, d)
    if e.kind is Kind.compound:
        return evaluate_compound(df, e, key, d)
    return evaluate_comparison(df, e, e.name, key, d)


# ------------------------------------------------------------------ a protocol, look by look


@dataclass
class ProtocolResult:
    protocol: str
    design: Design
    results: dict[str, Result]  # effect name -> result at the look that froze it (or last)
    history: pd.DataFrame  # look, n, effect, decision
    n_used: int  # seeds of the last look evaluated
    next_look: int | None  # seeds the next look needs, None when the protocol is finished
    seeds_recorded: int

    @property
    def finished(self) -> bool:
        return self.next_look is None


def evaluate_protocol(
    df: pd.DataFrame, claim: Claim, protocol: str, max_seeds: int | None = None
) -> ProtocolResult:
    """Replay the protocol's looks over its records (see the module docstring)."""
    proto = claim.protocols[protocol]
    families = 1 if protocol == "faithful" else len(audit_protocols(claim))
    d = design(proto, max_seeds, families)
    sub_all = df[df["protocol"] == protocol] if len(df) else df
    if claim.on_diverged is OnDiverged.worst:
        sub_all = worst_for_diverged(sub_all)
    effects = protocol_effects(claim, protocol)
    recorded = _complete_prefix(sub_all, proto)
    frozen: dict[str, Result] = {}
    current: dict[str, Result] = {}
    history, n_used, next_look = [], 0, None
    for j, n in enumerate(d.looks):
        if recorded < n:
            next_look = n
            break
        seeds = set(proto.seeds[:n])
        sub = sub_all[sub_all["seed"].isin(seeds) | (sub_all["stage"] == "tune")]
        current = {
            e.name: evaluate_effect(sub, claim, e, protocol, d)
            for e in effects
            if e.name not in frozen
        }
        close_look(frozen, current, d, n, last=j == len(d.looks) - 1)
        for e in effects:
            r = frozen.get(e.name) or current[e.name]
            history.append({"look": j + 1, "n": n, "effect": e.name, "decision": str(r.decision)})
        n_used = n
        if len(frozen) == len(effects):
            break
    results = {e.name: frozen.get(e.name) or current.get(e.name) for e in effects}
    results = {k: v for k, v in results.items() if v is not None}
    return ProtocolResult(protocol, d, results, pd.DataFrame(history), n_used, next_look, recorded)


def close_look(
    frozen: dict[str, Result], current: dict[str, Result], d: Design, n: int, last: bool
) -> None:
    """End of a look: Holm over the family, then freeze what is decided, hopeless (projected
    seeds beyond n_max: underpowered) or at the last look."""
    _holm_gate(frozen, current, d)
    for name, r in current.items():
        if not r.decision.final and r.n_needed > d.n_max:
            r.decision = verdicts.underpowered(r.n_needed, d.n_max, _fmt_mde(r))
        if r.decision.final or last:
            r.look = n
            frozen[name] = r


def worst_for_diverged(df: pd.DataFrame) -> pd.DataFrame:
    """The `worst` policy: a diverged evaluation run scores, on every metric, the worst value
    any completed evaluation run of the protocol reached, and then counts as a pair. It is
    flagged `imputed` so parity reads only runs that trained to the end."""
    df = df.copy()
    ev = (df["stage"] == "eval") & (df["status"] == "complete")
    bad = (df["stage"] == "eval") & (df["status"] == "diverged")
    if not bad.any():
        return df
    for name, m in METRICS.items():
        if name in df and df.loc[ev, name].notna().any():
            worst = df.loc[ev, name].min() if m.higher_is_better else df.loc[ev, name].max()
            df.loc[bad, name] = worst
    df["imputed"] = bad
    df.loc[bad, "status"] = "complete"
    return df


def _complete_prefix(sub: pd.DataFrame, proto: Protocol) -> int:
    """How many of the protocol's seeds, in order, have an evaluation record for every arm."""
    if not len(sub):
        return 0
    ev = sub[sub["stage"] == "eval"]
    have = set(zip(ev["arm"], ev["seed"], strict=True))
    n = 0
    for seed in proto.seeds:
        if not all((arm, seed) in have for arm in proto.arms):
            break
        n += 1
    return n


def _holm_gate(frozen: dict[str, Result], current: dict[str, Result], d: Design) -> None:
    """Holm over the claim's effects (frozen ones keep their p-values): a new confirmation or
    refutation stands only if its adjusted one-sided p-value is below alpha_look / 2."""
    family = list(frozen.values()) + list(current.values())
    k = len(family)
    conf = holm([r.p_confirm for r in family])
    ref = holm([r.p_refute for r in family])
    for r, pc, pr in zip(family, conf, ref, strict=True):
        if r.name in frozen:
            continue
        r.p_confirm_adj, r.p_refute_adj = pc, pr
        threshold = d.alpha_look / 2
        if r.decision.verdict is Verdict.CONFIRMED:
            r.decision = verdicts.after_multiplicity(r.decision, pc, threshold, k)
        elif r.decision.verdict is Verdict.REFUTED:
            r.decision = verdicts.after_multiplicity(r.decision, pr, threshold, k)


def _fmt_mde(r: Result) -> str:
    if math.isnan(r.mde):
        return "n/a"
    c = r.spec
    x = from_analysis_scale(r.mde, c.scale, c.direction)
    if c.scale is Scale.relative:
        return f"{100 * x:.2f}%"
    if c.scale is Scale.ratio:
        return f"{x:.2f}x"
    return f"{x:.4g} in {c.metric}"


def evaluate_claim(
    df: pd.DataFrame, claim: Claim, max_seeds: int | None = None
) -> dict[str, ProtocolResult]:
    return {name: evaluate_protocol(df, claim, name, max_seeds) for name in claim.protocols}
