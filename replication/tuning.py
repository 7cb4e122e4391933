"""The equal tuning budget's choices: one definition, used by the sweeper (what to run) and by
the results (what was chosen, and whether it sits at the edge of the grid).

A trial is the override string a tuning run applied, e.g. "optim.lr=0.1"; its value is the
part after the first "=".
"""

from __future__ import annotations

import pandas as pd

from replication.metrics import METRICS


def trial_value(trial: str) -> str:
    """ "optim.lr=0.1" -> "0.1" (a trial names one key, so the value is what follows "=")."""
    _, _, value = str(trial).partition("=")
    return value


def select_tuned(trials: pd.DataFrame, metric: str) -> dict[str, str]:
    """Best trial per arm by mean `metric` over tuning seeds; ties go to the earlier trial.

    trials: one row per tuning run with columns arm, trial, seed, status, <metric>; rows in
    grid order. A diverged trial counts as the worst possible value.
    """
    higher = METRICS[metric].higher_is_better
    worst = float("-inf") if higher else float("inf")
    df = trials.copy()
    if metric not in df:
        df[metric] = float("nan")
    df["_score"] = df[metric].where(df["status"] == "complete", worst).fillna(worst)
    order = {t: i for i, t in enumerate(dict.fromkeys(df["trial"]))}
    means = df.groupby(["arm", "trial"], sort=False)["_score"].mean().reset_index()
    means["_order"] = means["trial"].map(order)
    means = means.sort_values(["arm", "_order"])
    best = {}
    for arm, grp in means.groupby("arm", sort=False):
        scores = grp["_score"] if higher else -grp["_score"]
        best[arm] = grp["trial"].iloc[int(scores.to_numpy().argmax())]
    return best


def grid_edges(values: list, chosen: dict[str, str]) -> list[str]:
    """Arms whose chosen value is the smallest or largest of a numeric grid of 3+ values, as
    "arm (value)". A smallest value of 0 (e.g. no dropout) is a bound the search could not go
    past, so it is not flagged."""
    try:
        grid = [float(v) for v in values]
    except (TypeError, ValueError):
        return []
    if len(grid) < 3:
        return []
    out = []
    for arm, trial in sorted(chosen.items()):
        try:
            v = float(trial_value(trial))
        except ValueError:
            continue
        if v == max(grid) or (v == min(grid) and v != 0):
            out.append(f"{arm} ({v:g})")
    return out
