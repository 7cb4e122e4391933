"""Energy of a block of work: measured in windows, idle-subtracted, always labelled.

Three methods, named in every record (docs/energy.md):

- `nvml_counter`: the board's total-energy counter of an NVIDIA GPU (nvidia-ml-py, Zeus's
  method: read nvmlDeviceGetTotalEnergyConsumption at both edges of a window, after a CUDA
  synchronise). It advances about every 100 ms, so a window must last at least
  `min_periods` periods; a shorter window, or one in which the counter did not move, is
  `not measured`, never a number (CodeCarbon #1316 printed 0 kWh for a GPU without one).
- `rapl`: the CPU package (and DRAM) counters of /sys/class/powercap, with wrap-around.
- `estimate`: where no counter exists (these CPUs: no RAPL in the VM), a
  Green-Algorithms-style model: process CPU time x watts per busy thread + wall time x
  memory charged x watts per GB. Constants live in conf/energy/default.yaml and every record
  and report prints them.

A Meter measures idle power before and after a block, then windows of steady-state work,
each preceded by a cooldown (back-to-back windows read high as the card heats). A record's
`energy` holds gross and idle-subtracted joules, window length, steps and examples, J per
step and per example, and the method; run.py stores it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

NVML_PERIOD_S = 0.1  # measured on the H200 machine: p10-p90 97.6-102.4 ms between updates
RAPL_ROOT = Path("/sys/class/powercap")


@dataclass(frozen=True)
class Settings:
    """conf/energy/default.yaml. Sources: 4 W per busy thread is CodeCarbon's fallback for an
    unknown CPU; 0.3725 W per GB is Green Algorithms' memory power (Lannelongue et al. 2021)."""

    cpu_w_per_thread: float = 4.0
    memory_w_per_gb: float = 0.3725
    memory_gb: float = 1.0  # memory a run is charged for (our runs' resident set is below it)
    window_s: float = 5.0  # a benchmark window lasts at least this long
    cooldown_s: float = 2.0  # pause before each window
    idle_s: float = 2.5  # idle power is measured over this long, before and after a block
    min_periods: int = 20  # a window shorter than this many counter periods is not measured


class EstimateCounter:
    """The estimate as a counter: modelled joules so far, from CPU and wall time."""

    method, period_s = "estimate", 0.0

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.name = (
            f"estimate: process CPU time x {s.cpu_w_per_thread:g} W per busy thread + wall time "
            f"x {s.memory_gb:g} GB x {s.memory_w_per_gb:g} W/GB (no energy counter here)"
        )

    def read(self) -> float:
        memory_w = self.s.memory_gb * self.s.memory_w_per_gb
        return time.process_time() * self.s.cpu_w_per_thread + time.perf_counter() * memory_w


class NvmlCounter:
    """The board energy counter of one CUDA device, joules; `error` says why it is missing."""

    method, period_s = "nvml_counter", NVML_PERIOD_S

    def __init__(self, device: str) -> None:
        self.handle, self.error, self.name = None, "", "NVML"
        try:
            import pynvml  # nvidia-ml-py; present where the NVIDIA driver is
            import torch

            pynvml.nvmlInit()
            index = torch.device(device).index
            index = torch.cuda.current_device() if index is None else index
            self.pynvml = pynvml
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self.name = f"NVML total-energy counter of {pynvml.nvmlDeviceGetName(self.handle)}"
            self.read()  # fails here, not after the work, where the counter is unsupported
        except Exception as err:  # any failure means no counter; the record says why
            self.handle, self.error = None, f"{type(err).__name__}: {err}"

    def read(self) -> float:
        return self.pynvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0


class RaplCounter:
    """Sum of the top-level RAPL zones (packages; their DRAM subzones where present)."""

    method, period_s = "rapl", 0.001

    def __init__(self, root: Path = RAPL_ROOT) -> None:
        self.zones = sorted(root.glob("intel-rapl:*/energy_uj")) if root.is_dir() else []
        self.zones += sorted(root.glob("intel-rapl:*/intel-rapl:*:*/energy_uj"))
        self.zones = [z for z in self.zones if _readable(z)]
        self.error = "" if self.zones else f"no readable RAPL zone under {root}"
        self.name = f"RAPL counters ({len(self.zones)} zones)"
        self.last = [self._raw(z) for z in self.zones]
        self.total = 0.0

    @staticmethod
    def _raw(zone: Path) -> int:
        return int(zone.read_text())

    def read(self) -> float:
        """Joules since construction; a counter that wrapped adds its range once."""
        for i, zone in enumerate(self.zones):
            now = self._raw(zone)
            delta = now - self.last[i]
            if delta < 0:
                delta += int((zone.parent / "max_energy_range_uj").read_text())
            self.total += delta / 1e6
            self.last[i] = now
        return self.total


def _readable(p: Path) -> bool:
    try:
        int(p.read_text())
        return True
    except (OSError, ValueError):
        return False


@dataclass
class Window:
    joules: float | None  # gross; None when the window is not a measurement
    seconds: float
    steps: int
    reason: str = ""  # why joules is None


@dataclass
class Meter:
    """Idle power and windows of one device's counter (an estimate where none exists)."""

    device: str = "cpu"
    settings: Settings = field(default_factory=Settings)
    counter: object | None = None  # injected in tests (a fake counter)
    sync: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.missing = ""
        if self.counter is None:
            self.counter, self.missing = pick_counter(self.device, self.settings)
        self.estimator = EstimateCounter(self.settings)
        if self.sync is None:
            self.sync = _cuda_sync(self.device)
        self.idle_w: list[float] = []
        self.windows: list[Window] = []
        self.cpu_estimate_j = 0.0

    @property
    def method(self) -> str:
        return self.counter.method if self.counter is not None else "not_measured"

    def idle(self, seconds: float | None = None) -> float | None:
        """Mean idle power over `seconds` (None for the estimate, which models no idle)."""
        if self.counter is None or self.method == "estimate":
            return None
        joules, secs, reason = self._read(
            lambda: time.sleep(self.settings.idle_s if seconds is None else seconds)
        )
        if reason:
            return None
        self.idle_w.append(joules / secs)
        return self.idle_w[-1]

    def window(self, work: Callable[[], object], steps: int = 0) -> Window:
        """Run `work` between two synchronised counter readings; keep the window."""
        c0 = self.estimator.read()
        joules, seconds, reason = self._read(work)
        self.cpu_estimate_j += self.estimator.read() - c0
        w = Window(None if reason else joules, seconds, steps, reason)
        self.windows.append(w)
        return w

    def _read(self, work: Callable[[], object]) -> tuple[float, float, str]:
        """(joules, seconds, refusal) of one call of `work`."""
        if self.counter is None:
            t0 = time.perf_counter()
            work()
            return math.nan, time.perf_counter() - t0, self.missing
        self.sync()
        e0, t0 = self.counter.read(), time.perf_counter()
        work()
        self.sync()
        e1, seconds = self.counter.read(), time.perf_counter() - t0
        return (
            e1 - e0,
            seconds,
            refusal(e1 - e0, seconds, self.counter.period_s, self.settings.min_periods),
        )

    def cooldown(self) -> None:
        time.sleep(self.settings.cooldown_s if self.method != "estimate" else 0.0)

    def record(self, examples_per_step: int, scope: str) -> dict:
        """The record's `energy`: gross and idle-subtracted joules over the windows."""
        return summarize(self, examples_per_step, scope)


def refusal(joules: float, seconds: float, period_s: float, min_periods: int) -> str:
    """Why a counter window is not a measurement ('' when it is one)."""
    if seconds < min_periods * period_s:
        return (
            f"window of {seconds:.3g} s is shorter than {min_periods} counter periods "
            f"({min_periods * period_s:.3g} s)"
        )
    if not joules > 0:
        return f"the counter did not advance over {seconds:.3g} s (read {joules:g} J)"
    return ""


def pick_counter(device: str, s: Settings) -> tuple[object | None, str]:
    """The best counter for a device: NVML on CUDA, RAPL or the estimate on CPU."""
    if device.startswith("cuda"):
        nvml = NvmlCounter(device)
        if nvml.handle is not None:
            return nvml, ""
        return None, f"no NVML energy counter on {device} ({nvml.error})"
    rapl = RaplCounter()
    return (rapl, "") if rapl.zones else (EstimateCounter(s), "")


def _cuda_sync(device: str) -> Callable[[], None]:
    if not device.startswith("cuda"):
        return lambda: None
    import torch

    return lambda: torch.cuda.synchronize(torch.device(device))


def summarize(m: Meter, examples_per_step: int, scope: str) -> dict:
    """Totals over a meter's windows; a single unmeasured window makes the whole block
    `not measured` (with its reason), so no partial sum passes for the total."""
    seconds = sum(w.seconds for w in m.windows)
    steps = sum(w.steps for w in m.windows)
    bad = [w.reason for w in m.windows if w.joules is None]
    out = {
        "method": m.method if not bad else "not_measured",
        "counter": m.counter.name if m.counter is not None else None,
        "measured": m.method in ("nvml_counter", "rapl") and not bad,
        "scope": scope,
        "device": m.device,
        "windows": [asdict(w) for w in m.windows],
        "window_s": seconds,
        "steps": steps,
        "examples": steps * examples_per_step,
        "idle_w": m.idle_w,
        "cpu_estimate_joules": m.cpu_estimate_j,
        "settings": asdict(m.settings),
    }
    if bad or not m.windows:
        return out | {"joules": None, "reason": "; ".join(bad) or "no window was measured"}
    gross = sum(w.joules for w in m.windows)
    idle = sum(m.idle_w) / len(m.idle_w) if m.idle_w else None
    net = gross - idle * seconds if idle is not None else None
    out |= {"joules": gross, "net_joules": net, "reason": ""}
    if steps:
        out |= {"j_per_step": gross / steps, "net_j_per_step": _div(net, steps)}
        if examples_per_step:
            out["j_per_example"] = gross / out["examples"]
    return out


def _div(x: float | None, n: int) -> float | None:
    return None if x is None or not math.isfinite(x) else x / n


def steady_windows(
    m: Meter, step: Callable[[], object], warm_steps: int, n_windows: int = 1
) -> list[Window]:
    """Idle, then `n_windows` windows of back-to-back `step()` calls, each lasting at least
    settings.window_s and preceded by a cooldown (the idle measurement is the first one's),
    then idle again. The step count per window
    comes from timing `warm_steps` steps first (untimed for energy)."""
    m.sync()
    t0 = time.perf_counter()
    for _ in range(warm_steps):
        step()
    m.sync()
    per_step = max((time.perf_counter() - t0) / max(warm_steps, 1), 1e-9)
    n = max(1, math.ceil(m.settings.window_s / per_step))

    def work() -> None:
        for _ in range(n):
            step()

    m.idle()  # idle power, and the first window's cooldown
    out = []
    for i in range(n_windows):
        if i:
            m.cooldown()
        out.append(m.window(work, n))
    m.idle()
    return out
