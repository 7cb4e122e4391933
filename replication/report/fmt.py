"""Number and sentence formatting for reports: claim units in, markdown text out."""

from __future__ import annotations

import math

from replication.analysis import Result
from replication.claims import Comparison, Kind, Scale


def nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def value(x: float, metric: str) -> str:
    """A metric's value: accuracies as percentages, counts with separators."""
    if nan(x):
        return "n/a"
    if metric.endswith(("accuracy", "ceiling")):
        return f"{100 * x:.2f}%"
    if metric in ("params", "flops_per_example"):
        return f"{x:,.0f}"
    return f"{x:.4f}"


def diff(x: float, c: Comparison) -> str:
    """A difference in the claim's units (x already converted with Result.shown)."""
    if nan(x):
        return "n/a"
    if c.scale is Scale.relative:
        return f"{100 * x:+.2f}%"
    if c.scale is Scale.ratio:
        return f"{x:.3g}x"
    if c.metric and c.metric.endswith("accuracy"):
        return f"{100 * x:+.2f} pt"
    return f"{x:+.4g}"


def size(x: float, c: Comparison) -> str:
    """A claimed size, cost or margin as written in the spec (a fraction or factor)."""
    if nan(x):
        return "n/a"
    if c.scale is Scale.ratio:
        return f"{x:g}x"
    return diff(x, c)


def ci(r: Result) -> str:
    if r.ci is None or nan(r.ci.low):
        return "n/a"
    return f"[{diff(r.shown(r.ci.low), r.spec)}, {diff(r.shown(r.ci.high), r.spec)}]"


def pvalue(p: float) -> str:
    return "n/a" if nan(p) else f"{p:.3g}"


def claim_text(c: Comparison) -> str:
    """What the comparison claims, in its own units."""
    if c.kind is Kind.superiority:
        return f"{size(c.size, c)}"
    if c.kind is Kind.non_inferiority:
        return "no worse (cost 0)" if c.cost == 0 else f"no worse than {size(-c.cost, c)}"
    if c.kind is Kind.equivalence:
        return f"equal within ±{size(c.margin, c).lstrip('+')}"
    return c.kind.value


def table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def describe(r: Result) -> str:
    """One plain sentence: what was measured, against what, and the verdict's reason."""
    c = r.spec
    if c.kind is Kind.compound:
        parts = "; ".join(f"({i + 1}) {describe(p)}" for i, p in enumerate(r.parts))
        return f"a trade-off of {len(r.parts)} parts: {parts}. Overall: {r.decision.reason}"
    if c.kind is Kind.frontier or r.ci is None:
        return r.decision.reason
    level = f"{100 * r.ci.level:.4g}%"
    return (
        f"{c.treatment} vs {c.baseline} on {c.metric}: {diff(r.shown(r.mean), c)} "
        f"({level} CI {ci(r)}, n = {r.n} paired seeds), claimed {claim_text(c)}; "
        f"{r.decision.reason}"
    )
