"""Number and sentence formatting for reports: claim units in, markdown text out."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from replication.claims import Comparison, Direction, Kind, Scale
from replication.metrics import is_count, is_fraction

if TYPE_CHECKING:  # types only: rendering never runs the analysis
    from replication.analysis import Result


def nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def value(x: float, metric: str) -> str:
    """A metric's value: accuracies as percentages, counts with separators."""
    if nan(x):
        return "n/a"
    if is_fraction(metric):
        return f"{100 * x:.2f}%"
    if is_count(metric):
        return f"{x:,.0f}"
    if x != 0 and abs(x) < 0.01:  # kernel times: 4.82e-05, not 0.0000
        return f"{x:.4g}"
    return f"{x:.4f}"


def _raw(x: float, c: Comparison) -> float:
    """A claimed-direction number as the treatment's change against the baseline."""
    return -x if c.direction is Direction.decrease and c.scale is not Scale.ratio else x


def diff(x: float, c: Comparison) -> str:
    """A difference in the claim's units (x from Result.shown), as the treatment's change
    against the baseline: -8.40% is a loss 8.4% lower. Ratios read in the claimed direction
    (8.1x faster)."""
    if nan(x):
        return "n/a"
    if c.scale is Scale.ratio:
        return f"{x:.3g}x"
    v = _raw(x, c)
    if c.scale is Scale.relative:
        return f"{100 * v:+.2f}%"
    if is_fraction(c.metric):
        return f"{100 * v:+.2f} pt"
    return f"{v:+.4g}"


def size(x: float, c: Comparison) -> str:
    """A claimed size or cost as written in the spec (a fraction, or a factor)."""
    if nan(x):
        return "n/a"
    if c.scale is Scale.ratio:
        return f"{x:g}x"
    return diff(x, c)


def magnitude(x: float, c: Comparison) -> str:
    """A size without direction (a detectable difference, a margin)."""
    if nan(x):
        return "n/a"
    return diff(x, dataclasses.replace(c, direction=Direction.increase)).lstrip("+")


def margin(c: Comparison) -> str:
    if c.margin is None:
        return "n/a"
    if c.scale is Scale.ratio:  # a ratio's margin is a fraction of the ratio
        return f"±{100 * c.margin:g}%"
    return "±" + magnitude(c.margin, c)


def ci(r: Result) -> str:
    if r.ci is None or nan(r.ci.low):
        return "n/a"
    lo, hi = r.shown(r.ci.low), r.shown(r.ci.high)
    if r.spec.scale is not Scale.ratio and r.spec.direction is Direction.decrease:
        lo, hi = hi, lo  # as changes, the bounds swap
    return f"[{diff(lo, r.spec)}, {diff(hi, r.spec)}]"


def spread(sd: float, scale: Scale, metric: str) -> str:
    """An sd of paired differences on the analysis scale, in the claim's units: a log-ratio
    sd x 100 reads as a percentage (for small values the two agree), a fraction's as points."""
    if nan(sd):
        return "n/a"
    if scale is not Scale.absolute:
        return f"{100 * sd:.2f}%"
    if is_fraction(metric):
        return f"{100 * sd:.2f} pt"
    return f"{sd:.4g}"


def pvalue(p: float) -> str:
    return "n/a" if nan(p) else f"{p:.3g}"


def claim_text(c: Comparison) -> str:
    """What the comparison claims, in its own units."""
    if c.kind is Kind.superiority:
        return f"{size(c.size, c)}"
    if c.kind is Kind.non_inferiority:
        return "no worse (cost 0)" if c.cost == 0 else f"no worse than {size(-c.cost, c)}"
    if c.kind is Kind.equivalence:
        return f"equal within {margin(c)}"
    return c.kind.value


def table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table; a `|` in a cell (claim text is untrusted) cannot open a column."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def table_of(columns: dict[str, str], rows: list[dict]) -> list[str]:
    """A Markdown table from rows given as {key: cell}; columns maps key -> header, and a key
    a row leaves out is an empty cell."""
    return table(list(columns.values()), [[r.get(k, "") for k in columns] for r in rows])


def cell(value: object) -> str:
    return str(value).replace("\n", " ").replace("|", "\\|")


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
