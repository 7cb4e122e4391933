"""How an energy comparison is judged: by the margin its measurement method can resolve.

A counter (NVML, RAPL) resolves about 5% between arms measured in >= 5 s interleaved windows
(the A/A energy claims measure it); an estimate, a model of CPU time, about 20%. The
effective margin of an energy comparison is the larger of the claim's and its method's; an
energy figure that was not measured makes the comparison UNAUDITABLE, never a number.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from replication.claims import Comparison, Kind, margin_on_analysis_scale, to_analysis_scale
from replication.metrics import is_energy

COUNTER_MARGIN = 0.05  # an energy difference a counter resolves (docs/energy.md)
ESTIMATE_MARGIN = 0.20  # ... and one an estimate does: any estimated part widens the margin
COUNTERS = ("nvml_counter", "rapl")


def energy_gate(df: pd.DataFrame, c: Comparison) -> tuple[Comparison, list[str], str]:
    """An energy comparison's effective margin (the larger of the claim's and its method's)
    and, where its energy was not measured or the margin swallows the claim, the reason it
    is UNAUDITABLE; other metrics pass through unchanged."""
    if not is_energy(c.metric):
        return c, [], ""
    rows = df[df["arm"].isin([c.treatment, c.baseline]) & (df["stage"] == "eval")]
    col = rows["energy_method"] if "energy_method" in rows else pd.Series(dtype=object)
    methods = sorted(set(col.fillna("unlabelled")))
    if not methods:
        return c, [], ""
    why = sorted(set(rows.loc[col != "estimate", "energy_reason"].fillna("").map(str)) - {""})
    if "not_measured" in methods or "unlabelled" in methods:
        return c, methods, "energy not measured: " + ("; ".join(why) or "no method recorded")
    floor = COUNTER_MARGIN if set(methods) <= set(COUNTERS) else ESTIMATE_MARGIN
    c = dataclasses.replace(c, margin=max(c.margin or 0.0, floor))
    if c.kind is Kind.superiority and c.size is not None:
        claimed = to_analysis_scale(c.size, c.scale, c.direction)
        if not margin_on_analysis_scale(c.margin, c.scale) < claimed:
            return (
                c,
                methods,
                (
                    f"the claimed {c.size:g} is within the {floor:.0%} an energy figure by "
                    f"{', '.join(methods)} can resolve"
                ),
            )
    return c, methods, ""
