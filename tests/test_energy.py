"""Energy figures are labelled: measured only where a counter was read, else an estimate."""

import sys
import types

import pytest
import torch

from replication import energy


def test_cpu_energy_is_a_labelled_estimate():
    with energy.measure("cpu") as used:
        sum(i * i for i in range(200_000))
    e = used["energy"]
    assert e["measured"] is False and "estimate" in e["method"]
    assert e["joules"] == pytest.approx(used["cpu_s"] * energy.CPU_WATTS_PER_BUSY_THREAD)


def _fake_nvml(readings_mj: list[int], fail: bool = False) -> types.ModuleType:
    mod = types.ModuleType("pynvml")
    mod.nvmlInit = lambda: None
    mod.nvmlDeviceGetHandleByIndex = lambda i: ("gpu", i)
    mod.nvmlDeviceGetName = lambda h: "Fake GPU"

    def total(handle):
        if fail:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return readings_mj.pop(0)

    mod.nvmlDeviceGetTotalEnergyConsumption = total
    return mod


def test_gpu_energy_is_read_from_the_nvml_counter(monkeypatch):
    # one probe read at set-up, then start and end: 1,500 J used between start and end
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml([10_000, 10_000, 1_510_000]))
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)
    with energy.measure("cuda:0") as used:
        pass
    e = used["energy"]
    assert e["measured"] is True and e["joules"] == pytest.approx(1500.0)
    assert "NVML" in e["method"] and "Fake GPU" in e["method"]
    assert "cpu_estimate_joules" in e


def test_gpu_without_a_counter_falls_back_to_a_labelled_estimate(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml([], fail=True))
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)
    with energy.measure("cuda:0") as used:
        pass
    e = used["energy"]
    assert e["measured"] is False and "NVML counter unavailable" in e["method"]
    assert "NOT_SUPPORTED" in e["method"]
