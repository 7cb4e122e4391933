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


# The steps an energy metric covers (energy = steps x J/step): a run's trained steps, or for
# the energy pro-rated to a stop epoch, that epoch (every arm's epoch has the same steps).
TOTALS = {"energy_j": "acct_steps", "energy_net_j": "acct_steps", "energy_at_stop_j": "stop_epoch"}


def energy_split(df: pd.DataFrame, c: Comparison) -> dict[str, float]:
    """A total-energy comparison split into fewer steps x cheaper steps: the ratio of the
    arms' mean energy over their paired seeds = ratio of mean steps x ratio of mean energy
    per step (an identity); {} for other metrics or when an arm has no measured energy."""
    steps = TOTALS.get(c.metric or "")
    if steps is None or c.metric not in df or steps not in df:
        return {}
    ev = df[(df["stage"] == "eval") & (df["status"] == "complete")]
    wide = ev.pivot_table(index="seed", columns="arm", values=[c.metric, steps], aggfunc="first")
    arms = [c.treatment, c.baseline]
    try:
        wide = wide.loc[:, [(m, a) for m in (c.metric, steps) for a in arms]].dropna()
    except KeyError:
        return {}
    if not len(wide):
        return {}
    m = wide.mean()
    energy = m[(c.metric, c.treatment)] / m[(c.metric, c.baseline)]
    fewer = m[(steps, c.treatment)] / m[(steps, c.baseline)]
    return {"energy": float(energy), "steps": float(fewer), "per_step": float(energy / fewer),
            "n": len(wide)}  # fmt: skip
