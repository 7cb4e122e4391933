"""Search traces and equal-budget comparisons of search runs against gradient runs (CLSO).

A search run (tasks/clso.py, method ga or random) records one row per generation: the best
fitness as its script reports it (surrogate predictions included), the best measured by a
real evaluation, and the real evaluations so far. A gradient run records its validation
curve by optimizer step. Both record one measured energy window; energy up to a generation
(a step) is that window's joules apportioned by real evaluations (by steps): an
approximation, labelled so wherever it is shown. Pure functions over records; the report
renders the results.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from replication import records

TRACE_KEYS = ("best_reported", "best_measured", "overall_reported", "overall_measured")


def _used(r: records.RunRecord, seeds: dict[str, set[int]]) -> bool:
    return r.stage == "eval" and r.status == "complete" and r.seed in seeds.get(r.protocol, ())


def traces(runs: list[records.RunRecord], seeds: dict[str, set[int]]) -> dict[str, dict]:
    """Protocol -> search arm -> {key: mean over seeds per generation}, for TRACE_KEYS,
    real_evals and min_predicted (NaN before the first prediction); a key a method does not
    record (random search reports nothing but the measured best) is left out. Also: the
    first generation with predictions, and for the generation's reported and measured best
    how many times per seed, on average, it rose from one generation to the next."""
    acc: dict[tuple[str, str], list[list[dict]]] = {}
    for r in runs:
        if _used(r, seeds) and r.extras.get("generations"):
            acc.setdefault((r.protocol, r.arm), []).append(r.extras["generations"])
    out: dict[str, dict] = {}
    for (proto, arm), per_seed in sorted(acc.items()):
        gens = min(len(g) for g in per_seed)
        arm_out = {"gen": list(range(1, gens + 1)), "n": len(per_seed)}
        for key in (*TRACE_KEYS, "real_evals", "min_predicted"):
            vals = np.array(
                [[_num(row.get(key)) for row in g[:gens]] for g in per_seed], dtype=float
            )
            if not np.isnan(vals).all():  # None (no prediction yet) stays NaN
                arm_out[key] = vals.mean(axis=0).tolist()
                if key in ("best_reported", "best_measured"):  # rises between generations
                    arm_out[f"{key}_rises"] = float((np.diff(vals, axis=1) > 0).sum(1).mean())
        if "min_predicted" in arm_out:
            pred = np.array(arm_out["min_predicted"])
            arm_out["first_predicted"] = int(np.nonzero(~np.isnan(pred))[0][0]) + 1
        out.setdefault(proto, {})[arm] = arm_out
    return out


def _num(v) -> float:
    return math.nan if v is None else float(v)


def _energy(r: records.RunRecord) -> float | None:
    j = (r.energy or {}).get("joules")
    return float(j) if j is not None else None


def _search_reach(r: records.RunRecord, target: float) -> float | None:
    """Joules the search had spent when its best measured fitness first reached target."""
    rows, total = r.extras["generations"], _energy(r)
    last = rows[-1]["real_evals"]
    for row in rows:
        if row["overall_measured"] <= target:
            return total * row["real_evals"] / last
    return None


def _rows(r: records.RunRecord) -> tuple:
    """What a validation loss is measured on: rows, their length, whether pads count."""
    task = (getattr(r, "config", None) or {}).get("task", {})
    return tuple(task.get(k) for k in ("corpus", "seq_len", "eval_rows", "pad_loss"))


def _grad_curve(r: records.RunRecord) -> tuple[np.ndarray, np.ndarray]:
    """(joules apportioned by step, validation loss) at each checkpoint of a gradient run."""
    curve = [c for c in r.extras["curve"] if "val_loss" in c]
    steps = np.array([c["step"] for c in curve], dtype=float)
    return _energy(r) * steps / max(steps[-1], 1.0), np.array([c["val_loss"] for c in curve])


def pairs(runs: list[records.RunRecord], seeds: dict[str, set[int]]) -> dict[str, list[dict]]:
    """Protocol -> one row per (search arm, gradient arm, seed) with measured energy, where
    both score the same validation rows the same way:

    search_val / grad_val: validation losses at the end (the search's is its best fitness on
    those rows, chosen on them: biased in its favour); grad_val_at_search_energy: the
    gradient run's validation loss at its last checkpoint within the search's energy;
    search_j_to_grad_val / grad_j_to_search_val: joules each needed to reach the other's
    final validation loss (None: never within its run)."""
    search, grad = {}, {}
    for r in runs:
        if not _used(r, seeds) or _energy(r) is None:
            continue
        if r.extras.get("generations"):
            search[(r.protocol, r.arm, r.seed)] = r
        elif r.extras.get("curve_units") == "optimizer steps":
            grad[(r.protocol, r.arm, r.seed)] = r
    out: dict[str, list[dict]] = {}
    for (proto, s_arm, seed), s in sorted(search.items()):
        for (g_proto, g_arm, g_seed), g in sorted(grad.items()):
            if (g_proto, g_seed) != (proto, seed) or _rows(g) != _rows(s):
                continue  # e.g. the faithful protocol: other rows, lengths, pad scoring
            joules, val = _grad_curve(g)
            s_val, g_val, s_j = float(s.metrics["val_loss"]), float(val[-1]), _energy(s)
            within = joules <= s_j
            reached = np.nonzero(val <= s_val)[0]
            out.setdefault(proto, []).append(
                {
                    "search": s_arm,
                    "gradient": g_arm,
                    "seed": seed,
                    "search_j": s_j,
                    "grad_j": _energy(g),
                    "search_val": s_val,
                    "grad_val": g_val,
                    "grad_val_at_search_energy": float(val[within][-1]),
                    "search_j_to_grad_val": _search_reach(s, g_val),
                    "grad_j_to_search_val": float(joules[reached[0]]) if len(reached) else None,
                }
            )
    return out


def summarise(rows: list[dict], level: float = 0.95) -> list[dict]:
    """Per (search, gradient) arm pair: means, the paired difference at equal energy with
    its t interval (scipy.stats), and how often each side reached the other's loss."""
    out = []
    for key in sorted({(r["search"], r["gradient"]) for r in rows}):
        sub = [r for r in rows if (r["search"], r["gradient"]) == key]
        d = np.array([r["search_val"] - r["grad_val_at_search_energy"] for r in sub])
        if len(d) > 1 and d.std(ddof=1) > 0:
            lo, hi = stats.t.interval(level, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        else:
            lo = hi = math.nan
        s_reach = [r["search_j_to_grad_val"] for r in sub if r["search_j_to_grad_val"] is not None]
        g_reach = [r["grad_j_to_search_val"] for r in sub if r["grad_j_to_search_val"] is not None]
        out.append(
            {
                "search": key[0],
                "gradient": key[1],
                "n": len(sub),
                "search_j": float(np.mean([r["search_j"] for r in sub])),
                "grad_j": float(np.mean([r["grad_j"] for r in sub])),
                "search_val": float(np.mean([r["search_val"] for r in sub])),
                "grad_val_at_search_energy": float(
                    np.mean([r["grad_val_at_search_energy"] for r in sub])
                ),
                "diff_at_equal_energy": float(d.mean()),
                "diff_ci": (float(lo), float(hi)),
                "level": level,
                "search_reached": len(s_reach),
                "search_j_to_grad_val": float(np.mean(s_reach)) if s_reach else None,
                "grad_reached": len(g_reach),
                "grad_j_to_search_val": float(np.mean(g_reach)) if g_reach else None,
            }
        )
    return out
