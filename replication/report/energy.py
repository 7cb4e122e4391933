"""Rendering of energy evidence: a total-energy comparison split into fewer steps x cheaper
steps, and the tables a faithful run computed of itself (e.g. the authors' plateau table).
Numbers come from the results; nothing here computes a statistic."""

from __future__ import annotations

from replication.report import fmt
from replication.results import ClaimResults, Result


def energy_splits(results: dict[str, Result]) -> list[str]:
    """Each total-energy comparison as fewer steps x cheaper steps (energy = steps x J/step):
    stopping earlier and running cheaper are different claims."""
    rows = [
        (name, part)
        for name, r in results.items()
        for part in (r.parts or [r])
        if part.energy_split
    ]
    if not rows:
        return []
    out = ["Energy split into fewer steps x cheaper steps (ratio of the arms' means over "
           "their paired seeds; energy = steps x J/step):", ""]  # fmt: skip
    for name, r in rows:
        sp, c = r.energy_split, r.spec
        out.append(
            f"- `{name}` ({c.metric}, {r.energy_method}): {c.treatment} / {c.baseline} energy "
            f"{sp['energy']:.3f}x = steps {sp['steps']:.3f}x x energy per step "
            f"{sp['per_step']:.3f}x (n = {sp['n']})"
        )
    return [*out, ""]


def record_tables(res: ClaimResults) -> list[str]:
    """Each faithful run's own table, as the run wrote it."""
    out = []
    for proto, arm, seed, name, rows in res.tables:
        cols = list(dict.fromkeys(k for row in rows for k in row))
        body = [[_num(row.get(k)) for k in cols] for row in rows]
        out += [f"`{name}` of run {proto}/{arm}/seed={seed}:", "", *fmt.table(cols, body), ""]
    return out


def _num(v: object) -> object:
    return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else v)
