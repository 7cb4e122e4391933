"""Energy is measured in windows, labelled with its method, and refused rather than guessed:
a short window, a counter that does not advance, or no counter at all is `not measured`."""

import sys
import time
import types

import pandas as pd
import pytest
import torch

from replication import energy, records
from replication.claims import Comparison, Direction, Kind, Scale
from replication.energy_rules import ESTIMATE_MARGIN, energy_gate

FAST = energy.Settings(window_s=0.05, cooldown_s=0.0, idle_s=0.05, min_periods=20)


class FakeCounter:
    """A counter that draws `watts` and updates only every `period_s` (like NVML's ~100 ms)."""

    method, name = "nvml_counter", "fake counter"

    def __init__(self, watts: float, period_s: float = 0.001) -> None:
        self.watts, self.period_s, self.t0 = watts, period_s, time.perf_counter()

    def read(self) -> float:
        ticks = int((time.perf_counter() - self.t0) / self.period_s)
        return ticks * self.period_s * self.watts


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_window_shorter_than_twenty_counter_periods_is_not_measured():
    m = energy.Meter("cuda:0", FAST, counter=FakeCounter(100.0, period_s=0.01), sync=lambda: None)
    w = m.window(lambda: busy(0.05), steps=5)  # 5 periods of 10 ms: below 20
    assert w.joules is None and "shorter than 20 counter periods" in w.reason
    e = m.record(1, "test")
    assert e["method"] == "not_measured" and e["joules"] is None and "0.2 s" in e["reason"]
    assert records.energy_columns(e)["energy_per_step_j"] is None


def test_a_counter_that_does_not_advance_is_not_measured():
    m = energy.Meter("cuda:0", FAST, counter=FakeCounter(0.0), sync=lambda: None)
    w = m.window(lambda: busy(0.03), steps=3)
    assert w.joules is None and "did not advance" in w.reason
    assert m.record(1, "test")["measured"] is False


def test_a_long_enough_window_is_measured_and_idle_is_subtracted():
    counter = FakeCounter(50.0)
    m = energy.Meter("cuda:0", FAST, counter=counter, sync=lambda: None)
    assert m.idle() == pytest.approx(50.0, rel=0.1)
    m.window(lambda: busy(0.1), steps=10)
    e = m.record(4, "test")
    assert e["method"] == "nvml_counter" and e["measured"] is True
    assert e["joules"] == pytest.approx(5.0, rel=0.1)
    assert e["j_per_step"] == pytest.approx(e["joules"] / 10)
    assert e["j_per_example"] == pytest.approx(e["joules"] / 40)
    assert abs(e["net_joules"]) < 0.1 * e["joules"]  # the fake draws idle power only


def test_one_unmeasured_window_makes_the_block_unmeasured():
    counter = FakeCounter(50.0, period_s=0.005)
    m = energy.Meter("cuda:0", FAST, counter=counter, sync=lambda: None)
    m.window(lambda: busy(0.15), steps=10)
    m.window(lambda: busy(0.01), steps=1)
    e = m.record(1, "test")
    assert e["joules"] is None and e["method"] == "not_measured"


def test_a_gpu_without_a_counter_is_not_measured_and_says_why(monkeypatch):
    mod = types.ModuleType("pynvml")
    mod.nvmlInit = lambda: (_ for _ in ()).throw(RuntimeError("NVML_ERROR_LIBRARY_NOT_FOUND"))
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)
    m = energy.Meter("cuda:0", FAST)
    m.window(lambda: None, steps=1)
    e = m.record(1, "test")
    assert e["method"] == "not_measured" and e["joules"] is None
    assert "LIBRARY_NOT_FOUND" in e["reason"]


def test_the_cpu_estimate_is_the_documented_model():
    s = energy.Settings(cpu_w_per_thread=4.0, memory_w_per_gb=0.5, memory_gb=2.0)
    est = energy.EstimateCounter(s)
    c0, t0, e0 = time.process_time(), time.perf_counter(), est.read()
    busy(0.05)
    joules = est.read() - e0
    expected = (time.process_time() - c0) * 4.0 + (time.perf_counter() - t0) * 1.0
    assert joules == pytest.approx(expected, rel=0.05)
    assert "4 W per busy thread" in est.name and "0.5 W/GB" in est.name


def test_rapl_counters_wrap_around(tmp_path):
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "max_energy_range_uj").write_text("1000000\n")
    (zone / "energy_uj").write_text("900000\n")
    counter = energy.RaplCounter(tmp_path)
    (zone / "energy_uj").write_text("100000\n")  # wrapped: 0.1 J to the top, 0.1 J after
    assert counter.read() == pytest.approx(0.2)


def test_steady_windows_last_the_configured_time():
    m = energy.Meter("cuda:0", FAST, counter=FakeCounter(10.0), sync=lambda: None)
    windows = energy.steady_windows(m, lambda: busy(0.002), warm_steps=2, n_windows=2)
    assert len(windows) == 2 and all(w.seconds >= FAST.window_s for w in windows)
    assert len(m.idle_w) == 2  # idle before and after the block


# the margin an energy verdict is judged with ----------------------------------------------


def _energy_frame(methods: tuple[str, str], reason: str = "") -> pd.DataFrame:
    rows = [
        {"arm": arm, "seed": s, "stage": "eval", "energy_j": 10.0, "energy_method": method,
         "energy_reason": reason}
        for arm, method in zip(("t", "b"), methods, strict=True)
        for s in range(3)
    ]  # fmt: skip
    return pd.DataFrame(rows)


SAVING = Comparison(
    kind=Kind.superiority, metric="energy_j", treatment="t", baseline="b",
    direction=Direction.decrease, scale=Scale.relative, size=0.5, margin=0.01,
)  # fmt: skip


def test_a_counter_needs_five_percent_and_any_estimate_twenty():
    c, methods, why = energy_gate(_energy_frame(("nvml_counter", "nvml_counter")), SAVING)
    assert (c.margin, methods, why) == (0.05, ["nvml_counter"], "")
    c, _, why = energy_gate(_energy_frame(("nvml_counter", "estimate")), SAVING)
    assert c.margin == ESTIMATE_MARGIN and why == ""


def test_energy_not_measured_makes_the_comparison_unauditable():
    df = _energy_frame(("not_measured", "nvml_counter"), reason="window of 1 s is shorter")
    _, _, why = energy_gate(df, SAVING)
    assert why.startswith("energy not measured") and "shorter" in why


def test_a_claim_inside_the_methods_margin_cannot_be_judged():
    small = Comparison(**{**SAVING.__dict__, "size": 0.1})
    _, _, why = energy_gate(_energy_frame(("estimate", "estimate")), small)
    assert "within the 20%" in why


def test_other_metrics_pass_through():
    acc = Comparison(**{**SAVING.__dict__, "metric": "test_accuracy"})
    assert energy_gate(_energy_frame(("estimate", "estimate")), acc) == (acc, [], "")


def test_energy_split_is_steps_times_energy_per_step():
    """Half the steps at 1.2x the joules per step: 0.6x the energy, split as 0.5 x 1.2."""
    from replication.energy_rules import energy_split

    rows = []
    for seed in range(3):
        rows.append(
            {
                "arm": "t",
                "seed": seed,
                "stage": "eval",
                "status": "complete",
                "energy_j": 60.0 * (1 + seed),
                "acct_steps": 50 * (1 + seed),
            }
        )
        rows.append({"arm": "b", "seed": seed, "stage": "eval", "status": "complete",
                     "energy_j": 100.0 * (1 + seed), "acct_steps": 100 * (1 + seed)})  # fmt: skip
    c = Comparison(Kind.superiority, "energy_j", "t", "b", Direction.decrease, Scale.relative)
    sp = energy_split(pd.DataFrame(rows), c)
    assert sp["energy"] == pytest.approx(0.6) and sp["steps"] == pytest.approx(0.5)
    assert sp["per_step"] == pytest.approx(1.2) and sp["n"] == 3
    per_step = Comparison(Kind.superiority, "energy_per_step_j", "t", "b", Direction.decrease)
    assert energy_split(pd.DataFrame(rows), per_step) == {}  # already per step: no split
