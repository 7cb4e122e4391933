"""Energy of a block of work, always labelled with how it was obtained.

These CPUs expose no energy counters (no RAPL), so on CPU the figure is an estimate from the
process CPU time and a fixed power per busy thread, and the record says so. GPU runs will use
the NVML energy counter; nothing here ever reports a silent zero.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

# codecarbon's fallback for an unknown CPU model is 4 W per thread; we use the same constant
# so our estimates are comparable with what that tool would print on these machines.
CPU_WATTS_PER_BUSY_THREAD = 4.0


@contextmanager
def measure(device: str = "cpu") -> Iterator[dict]:
    """Yields a dict that holds wall_s, cpu_s and energy once the block ends."""
    out: dict = {}
    wall0, cpu0 = time.perf_counter(), time.process_time()
    yield out
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    out["wall_s"], out["cpu_s"] = wall, cpu
    out["energy"] = {
        "joules": cpu * CPU_WATTS_PER_BUSY_THREAD,
        "measured": False,
        "method": (
            f"estimate: process CPU time x {CPU_WATTS_PER_BUSY_THREAD:g} W per busy thread "
            "(no energy counters on this CPU)"
        ),
        "device": device,
    }
