"""Exercise the NVML path of replication/energy.py on a GPU machine and keep a short record.

What it checks, on the machine it runs on: how often the board's energy counter updates
(the window rule rests on that period), idle power, a steady-state matmul window through the
same Meter every GPU record uses, and that a 50 ms window is refused, not reported.

    python -m replication.energy_probe runs/_device/nvml-probe.json
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from replication import energy, provenance


def update_intervals(counter: energy.NvmlCounter, seconds: float = 3.0) -> list[float]:
    """Seconds between successive changes of the counter, polled in a tight loop."""
    changes, last, end = [], counter.read(), time.perf_counter() + seconds
    while time.perf_counter() < end:
        now = counter.read()
        if now != last:
            changes.append(time.perf_counter())
            last = now
    return [b - a for a, b in itertools.pairwise(changes)]


def probe(device: str = "cuda") -> dict:
    counter = energy.NvmlCounter(device)
    if counter.handle is None:
        return {"device": device, "counter": None, "error": counter.error}
    gaps = sorted(update_intervals(counter))
    a = torch.randn(8192, 8192, device=device)
    meter = energy.Meter(device)
    windows = energy.steady_windows(meter, lambda: a @ a, warm_steps=5, n_windows=2)
    short = energy.Meter(device).window(lambda: a @ a, steps=1)
    return {
        "device": device,
        "environment": provenance.environment(device),
        "counter": counter.name,
        "update_interval_s": {
            "n": len(gaps),
            "p10": gaps[len(gaps) // 10],
            "median": statistics.median(gaps),
            "p90": gaps[9 * len(gaps) // 10],
        },
        "matmul_windows": meter.record(1, "8192x8192 fp32 matmuls, steady-state windows"),
        "watts_per_window": [w.joules / w.seconds for w in windows if w.joules],
        "one_matmul_window": {
            "seconds": short.seconds,
            "joules": short.joules,
            "reason": short.reason,
        },
    }


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/_device/nvml-probe.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    result = probe()
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "environment"}, default=str)[:3000])


if __name__ == "__main__":
    main()
