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
from dataclasses import dataclass

import pandas as pd

from replication import parity, verdicts
from replication.claims import (
    FAITHFUL,
    Claim,
    Effect,
    Kind,
    OnDiverged,
    Protocol,
    Scale,
    from_analysis_scale,
)
from replication.comparisons import Design, Result, evaluate_comparison, evaluate_compound
from replication.comparisons import judge_pairs as judge_pairs
from replication.frontier import evaluate_frontier
from replication.metrics import METRICS
from replication.stats import holm
from replication.verdicts import Verdict


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
    return [n for n in claim.protocols if n != FAITHFUL]


def protocol_effects(claim: Claim, protocol: str) -> list[Effect]:
    """The effects judged in a protocol: their own audit protocol's, or, in the faithful
    protocol, every effect whose arms it runs (to show the authors' own protocol's answer)."""
    proto = claim.protocols[protocol]
    if protocol == FAITHFUL:
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


# ------------------------------------------------------------------ one effect


def effect_arms(e: Effect, proto: Protocol) -> list[str] | None:
    """The arms an effect compares in this protocol, or None when the protocol lacks one."""
    need = (e.arms or list(proto.arms)) if e.kind is Kind.frontier else [e.treatment, e.baseline]
    return need if all(a in proto.arms for a in need) else None


def best_implementation(df: pd.DataFrame, e: Effect) -> Effect:
    """The effect with each side at its best measured implementation: among the arm and its
    `best_of` alternatives, the one with the best mean over the completed evaluation runs
    given (the look's seeds). Chosen on the same runs it is judged on, for both sides alike."""
    if not len(df) or e.metric not in df:
        return e
    ok = df[(df["stage"] == "eval") & (df["status"] == "complete")]
    higher = METRICS[e.metric].higher_is_better

    def pick(arm: str) -> str:
        means = {a: ok.loc[ok["arm"] == a, e.metric].mean() for a in [arm, *e.best_of.get(arm, [])]}
        known = {a: m for a, m in means.items() if not math.isnan(m)}
        return (max if higher else min)(known, key=known.get) if known else arm

    return dataclasses.replace(e, treatment=pick(e.treatment), baseline=pick(e.baseline))


def evaluate_effect(df: pd.DataFrame, claim: Claim, e: Effect, protocol: str, d: Design) -> Result:
    proto = claim.protocols[protocol]
    if e.best_of:
        e = best_implementation(df, e)
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
    families = 1 if protocol == FAITHFUL else len(audit_protocols(claim))
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
