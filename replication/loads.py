"""Expert utilisation of MoE runs, read off their records (h-ee-10's histograms).

Each MoE run records, per layer, the share of token slots each expert received on the test
windows (models/charlm.py diagnostics, record extras `expert_load_l<i>`). Pure functions over
records; the report draws the result.
"""

from __future__ import annotations

import numpy as np

from replication import records

LOAD_KEY = "expert_load_l"


def expert_loads(
    runs: list[records.RunRecord], seeds: dict[str, set[int]]
) -> dict[str, dict[str, list[list[float]]]]:
    """Protocol -> MoE arm -> per layer, each expert's share of token slots, sorted from the
    busiest expert down, then averaged over the seeds the looks used (uniform routing is
    1 / experts everywhere)."""
    acc: dict[tuple[str, str], list[list[list[float]]]] = {}
    for r in runs:
        if r.stage != "eval" or r.status != "complete" or r.seed not in seeds.get(r.protocol, ()):
            continue
        keys = sorted((k for k in r.extras if k.startswith(LOAD_KEY)), key=_layer_no)
        if keys:
            layers = [sorted(r.extras[k], reverse=True) for k in keys]
            acc.setdefault((r.protocol, r.arm), []).append(layers)
    out: dict[str, dict[str, list[list[float]]]] = {}
    for (proto, arm), per_seed in sorted(acc.items()):
        out.setdefault(proto, {})[arm] = np.mean(np.array(per_seed, dtype=float), axis=0).tolist()
    return out


def _layer_no(key: str) -> int:
    tail = key[len(LOAD_KEY) :]
    return int(tail) if tail.isdigit() else -1
