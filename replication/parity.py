"""Parity rules: is a comparison like for like? Each rule returns a failure message or None.

A claim's `parity` block sets a relative tolerance per quantity (null: not checked); an effect
lists in `parity_exempt` what it is about (a claim of fewer parameters is exempt from the
params rule). Quantities come from the run records' accounting, so the receipt in the report
and these rules read the same numbers.
"""

from __future__ import annotations

import math

import pandas as pd

from replication.claims import Parity

COLUMNS = {
    "params": "acct_params_total",
    "flops": "acct_flops_per_example_forward",
    "steps": "acct_steps",
    "examples": "acct_examples_seen",
}


def quantity_rule(runs: pd.DataFrame, rule: str, a: str, b: str, tolerance: float) -> str | None:
    """Mean of the accounting column of arm a vs arm b, within a relative tolerance."""
    col = COLUMNS[rule]
    if col not in runs:
        return f"{rule} not recorded"
    ra, rb = runs.loc[runs["arm"] == a, col], runs.loc[runs["arm"] == b, col]
    if not len(ra) or not len(rb):
        return None  # an arm with no run that trained to the end: nothing to compare (no pair)
    va, vb = ra.mean(), rb.mean()
    if math.isnan(va) and math.isnan(vb):
        return None  # neither arm has it (measurements have no steps or FLOPs): not applicable
    if math.isnan(va) or math.isnan(vb):
        return f"{rule} not recorded for {a if math.isnan(va) else b}"
    rel = abs(va - vb) / max(abs(vb), 1e-12)
    if rel > tolerance + 1e-12:
        return (
            f"{rule} differ: {a} {va:,.0f} vs {b} {vb:,.0f} ({rel:.1%} apart, tolerance "
            f"{tolerance:.1%})"
        )
    return None


def tuning_rule(tune_runs: pd.DataFrame, a: str, b: str) -> str | None:
    """Same tuning budget: identical trial values and seeds for both arms."""

    def budget(arm: str) -> set:
        r = tune_runs[tune_runs["arm"] == arm]
        return set(zip(r["trial"], r["seed"], strict=True))

    ta, tb = budget(a), budget(b)
    if ta != tb:
        return (
            f"tuning budgets differ: {a} had {len(ta)} trials, {b} {len(tb)} "
            f"(or on other values or seeds)"
        )
    return None


def measurement_rule(runs: pd.DataFrame, metric: str, arms: list[str]) -> str | None:
    """The metric the claim is about must exist for the arms compared."""
    if metric not in runs:
        return f"required measurement '{metric}' missing"
    for arm in arms:
        vals = runs.loc[(runs["arm"] == arm) & (runs["status"] == "complete"), metric]
        if len(vals) and vals.isna().all():
            return f"required measurement '{metric}' missing for {arm}"
    return None


def failures(
    df: pd.DataFrame, a: str, b: str, parity: Parity, exempt: list[str], metrics: list[str]
) -> list[str]:
    """Every failed rule between arms a and b (one protocol's records)."""
    ev = df[(df["stage"] == "eval") & (df["status"] == "complete")]
    if "imputed" in ev:  # `worst` policy: diverged runs scored, but they did not train through
        ev = ev[~ev["imputed"].fillna(False).astype(bool)]
    out = [measurement_rule(df[df["stage"] == "eval"], m, [a, b]) for m in metrics]
    for rule in COLUMNS:
        tol = getattr(parity, rule)
        if tol is not None and rule not in exempt:
            out.append(quantity_rule(ev, rule, a, b, tol))
    if parity.tuning and "tuning" not in exempt:
        out.append(tuning_rule(df[df["stage"] == "tune"], a, b))
    return [f for f in out if f]
