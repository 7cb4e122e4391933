"""Energy of a block of work, always labelled with how it was obtained.

These CPUs expose no energy counters (no RAPL), so on CPU the figure is an estimate from the
process CPU time and a fixed power per busy thread, and the record says so. On an NVIDIA GPU
the block's energy is read from the board's NVML counter (nvmlDeviceGetTotalEnergyConsumption,
Volta and later): that figure is measured, for the whole board over the block, and the CPU
estimate is stored beside it. Nothing here ever reports a silent zero.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

# codecarbon's fallback for an unknown CPU model is 4 W per thread; we use the same constant
# so our estimates are comparable with what that tool would print on these machines.
CPU_WATTS_PER_BUSY_THREAD = 4.0


def cpu_estimate(cpu_s: float, device: str) -> dict:
    return {
        "joules": cpu_s * CPU_WATTS_PER_BUSY_THREAD,
        "measured": False,
        "method": (
            f"estimate: process CPU time x {CPU_WATTS_PER_BUSY_THREAD:g} W per busy thread "
            "(no energy counters on this CPU)"
        ),
        "device": device,
    }


class NvmlCounter:
    """The board energy counter of one CUDA device, in joules; None where NVML is missing."""

    def __init__(self, device: str) -> None:
        self.handle = None
        self.error = ""
        try:
            import pynvml  # nvidia-ml-py; present where the NVIDIA driver is
            import torch

            pynvml.nvmlInit()
            index = torch.device(device).index
            index = torch.cuda.current_device() if index is None else index
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self.pynvml = pynvml
            self.name = pynvml.nvmlDeviceGetName(self.handle)
            self.read()  # fails here, not after the work, where the counter is unsupported
        except Exception as err:  # any failure means: no counter, and the record says why
            self.handle, self.error = None, f"{type(err).__name__}: {err}"

    def read(self) -> float | None:
        if self.handle is None:
            return None
        return self.pynvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0


@contextmanager
def measure(device: str = "cpu") -> Iterator[dict]:
    """Yields a dict that holds wall_s, cpu_s and energy once the block ends."""
    out: dict = {}
    counter = NvmlCounter(device) if device.startswith("cuda") else None
    if counter is not None:
        import torch

        torch.cuda.synchronize()
    start_j = counter.read() if counter is not None else None
    wall0, cpu0 = time.perf_counter(), time.process_time()
    yield out
    if counter is not None:
        torch.cuda.synchronize()
    end_j = counter.read() if counter is not None else None
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    out["wall_s"], out["cpu_s"] = wall, cpu
    estimate = cpu_estimate(cpu, device)
    if start_j is None or end_j is None:
        if counter is not None:
            estimate["method"] += f"; NVML counter unavailable ({counter.error})"
        out["energy"] = estimate
        return
    out["energy"] = {
        "joules": end_j - start_j,
        "measured": True,
        "method": (
            f"NVML total-energy counter of {counter.name}, whole board, over the run "
            "(includes setup and evaluation)"
        ),
        "device": device,
        "cpu_estimate_joules": estimate["joules"],
    }
