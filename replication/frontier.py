"""A frontier effect: is the candidate arm on the Pareto front of two objectives (or best by
their product)? The candidate against every other arm, with paired CIs on each objective."""

from __future__ import annotations

import math

import pandas as pd

from replication import verdicts
from replication.claims import (
    Comparison,
    Direction,
    Effect,
    Kind,
    Optimality,
    Scale,
    from_analysis_scale,
    margin_on_analysis_scale,
)
from replication.comparisons import Design, Result
from replication.stats import Interval, confidence_interval, differences, paired_table


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
    ci = confidence_interval(diffs, level=d.level)
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
