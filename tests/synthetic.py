"""Synthetic run tables with known effects, shaped like records.to_frame()."""

import numpy as np
import pandas as pd

ACCT = {
    "acct_params_total": 10_000,
    "acct_flops_per_example_forward": 20_000,
    "acct_steps": 500,
    "acct_examples_seen": 64_000,
}


def runs(
    arms: dict[str, dict[str, float]],
    *,
    n: int = 20,
    noise: float = 0.004,
    level: float = 0.02,
    multiplicative: tuple[str, ...] = (),
    seed: int = 0,
    protocol: str = "audit",
    params: dict[str, float] | None = None,
) -> pd.DataFrame:
    """arms: arm -> {metric: true mean}. Each seed has a level shared by all arms (paired
    seeds share data and init) plus independent noise per run. Metrics listed in
    `multiplicative` get log-normal noise (times, energy, losses stay positive)."""
    rng = np.random.default_rng(seed)
    rows = []
    metrics = {m for spec in arms.values() for m in spec}
    shared = {m: rng.normal(0, level, n) for m in metrics}
    for s in range(n):
        for arm, spec in arms.items():
            row = {
                "protocol": protocol,
                "arm": arm,
                "seed": s,
                "stage": "eval",
                "trial": None,
                "status": "complete",
            } | ACCT
            for m, mean in spec.items():
                eps = shared[m][s] + rng.normal(0, noise)
                row[m] = mean * np.exp(eps) if m in multiplicative else mean + eps
            if params and arm in params:
                row["acct_params_total"] = params[arm]
            row["params"] = row["acct_params_total"]
            rows.append(row)
    return pd.DataFrame(rows)
