"""Timing benchmarks (replication/tasks/bench.py): inputs, correctness of what is timed, metrics."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from replication.models.activations import phi6_simple
from replication.tasks.bench import (
    NUMPY_ACTS,
    KernelBench,
    NumpyBench,
    StepBench,
    bench_input,
    ideal_bytes,
    numpy_input,
)

FAST = {"numel": 4096, "warmup": 1, "repeats": 3, "calls": 2}


def _positive(metrics: dict) -> None:
    for name, value in metrics.items():
        assert isinstance(value, float), name
        assert math.isfinite(value) and value > 0, (name, value)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_bench_input_same_seed_same_tensor(dtype):
    a = bench_input(4096, dtype, "cpu", seed=3)
    b = bench_input(4096, dtype, "cpu", seed=3)
    c = bench_input(4096, dtype, "cpu", seed=4)
    assert a.dtype == {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    assert a.shape == (4096,)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_bench_input_is_what_prepare_times():
    for mode in ("fwd", "fwd_bwd"):
        prep = KernelBench(**FAST, mode=mode).prepare("gelu", {}, "cpu", seed=5)
        assert torch.equal(prep.x.detach(), bench_input(4096, "float32", "cpu", 5))
        assert prep.x.requires_grad == (mode == "fwd_bwd")


@pytest.mark.parametrize("mode", ["fwd", "fwd_bwd"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("act", ["gelu", "phi6_simple"])
def test_kernel_metrics_positive_and_bandwidth_consistent(mode, dtype, act):
    bench = KernelBench(**FAST, mode=mode, dtype=dtype)
    metrics, extras = bench.measure(act, {}, "cpu", seed=0)
    assert set(metrics) == {
        "kernel_time_s",
        "kernel_bandwidth_gbs",
        "copy_bandwidth_gbs",
        "bandwidth_vs_copy",
    }
    _positive(metrics)
    ratio = metrics["kernel_bandwidth_gbs"] / metrics["copy_bandwidth_gbs"]
    assert metrics["bandwidth_vs_copy"] == pytest.approx(ratio)
    assert len(extras["repeat_times_s"]) == bench.repeats
    assert metrics["kernel_time_s"] == pytest.approx(np.median(extras["repeat_times_s"]))
    moved = metrics["kernel_bandwidth_gbs"] * 1e9 * metrics["kernel_time_s"]
    assert moved == pytest.approx(ideal_bytes(4096, dtype, mode))
    assert extras["compile_backend"] == "eager"  # device and versions: the record's environment


def test_ideal_bytes_traffic_model():
    assert ideal_bytes(10, "float32", "fwd") == 2 * 10 * 4
    assert ideal_bytes(10, "bfloat16", "fwd") == 2 * 10 * 2
    assert ideal_bytes(10, "float32", "fwd_bwd") == 5 * 10 * 4


def test_fwd_output_matches_activation():
    prep = KernelBench(**FAST).prepare("phi6_simple", {}, "cpu", seed=1)
    y = prep.once()
    assert not y.requires_grad  # fwd is timed under no_grad
    assert torch.equal(y, phi6_simple(bench_input(4096, "float32", "cpu", 1)))


def test_fwd_bwd_gradient_of_phi6_simple():
    """The timed call computes d/dx of c^2 - c + 1 = 2c - 1 inside [-2, 2], 0 outside."""
    bench = KernelBench(**{**FAST, "numel": 65_536}, mode="fwd_bwd")
    prep = bench.prepare("phi6_simple", {}, "cpu", seed=2)
    x = prep.x.detach()
    assert (x.abs() > 2).any() and (x.abs() < 2).any()  # both branches are exercised
    for _ in range(2):  # grad is reset per call, not accumulated
        prep.once()
        inside = x.abs() <= 2
        expected = torch.where(inside, (2 * x - 1) * prep.grad_out, torch.zeros_like(x))
        torch.testing.assert_close(prep.x.grad, expected, rtol=1e-6, atol=1e-6)
        assert torch.equal(prep.x.grad[~inside], torch.zeros_like(x[~inside]))


def test_kernel_params_passed_through():
    prep = KernelBench(**FAST).prepare("vertex", {"v": 0.25}, "cpu", seed=0)
    x = bench_input(4096, "float32", "cpu", 0)
    torch.testing.assert_close(prep.once(), (x - 0.25) ** 2)


def test_unknown_activation_raises():
    with pytest.raises(ValueError, match="unknown activation"):
        KernelBench(**FAST).measure("nope", {}, "cpu", seed=0)
    with pytest.raises(ValueError, match="unknown numpy activation"):
        NumpyBench(numel=64, calls=1).measure("gelu", {}, "cpu", seed=0)


@pytest.mark.parametrize(
    "kwargs",
    [{"mode": "bwd"}, {"dtype": "float16"}, {"repeats": 0}, {"compile": True, "warmup": 0}],
)
def test_kernel_bad_config_raises(kwargs):
    with pytest.raises(ValueError):
        KernelBench(**{**FAST, **kwargs})


def test_numpy_bench_reproduces_authors_formulas():
    x = numpy_input(100_000)
    assert x.dtype == np.float32
    assert np.array_equal(x, np.random.default_rng(42).standard_normal(100_000).astype("f4"))
    xt = torch.from_numpy(x)
    gelu = NUMPY_ACTS["gelu_tanh"](x)
    assert gelu.dtype == np.float32  # the authors' timings are float32 timings
    np.testing.assert_allclose(gelu, F.gelu(xt, approximate="tanh").numpy(), atol=1e-5)
    np.testing.assert_allclose(NUMPY_ACTS["phi6_simple"](x), phi6_simple(xt).numpy(), atol=1e-5)
    np.testing.assert_allclose(NUMPY_ACTS["relu"](x), F.relu(xt).numpy(), atol=0)
    np.testing.assert_allclose(NUMPY_ACTS["silu"](x), F.silu(xt).numpy(), atol=1e-5)


def test_numpy_bench_metrics_and_guards():
    bench = NumpyBench(numel=4096, calls=5, repeats=3)
    metrics, extras = bench.measure("phi6_simple", {}, "cpu", seed=7)
    _positive(metrics)
    assert len(extras["repeat_times_s"]) == 3
    with pytest.raises(ValueError, match="cpu"):
        bench.measure("phi6_simple", {}, "cuda", seed=0)
    with pytest.raises(ValueError, match="parameters"):
        bench.measure("phi6_simple", {"v": 1.0}, "cpu", seed=0)


def test_step_bench_times_and_trains():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    before = [p.detach().clone() for p in model.parameters()]
    gen = torch.Generator().manual_seed(0)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(32, 8, generator=gen), torch.randint(0, 3, (32,), generator=gen)

    bench = StepBench(warmup=1, repeats=3, steps=2, lr=1e-2)
    metrics, extras = bench.measure_step(model, batch, F.cross_entropy, "cpu")
    assert set(metrics) == {"step_time_s"}
    _positive(metrics)
    assert len(extras["repeat_times_s"]) == 3
    after = list(model.parameters())
    assert all(not torch.equal(a, b.detach()) for a, b in zip(before, after, strict=True))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit, inside inductor
@pytest.mark.parametrize("mode", ["fwd", "fwd_bwd"])
def test_compiled_matches_eager(mode):
    """torch.compile (inductor) times the same function: outputs and gradients agree."""
    eager = KernelBench(**FAST, mode=mode).prepare("phi6_simple", {}, "cpu", seed=3)
    compiled_bench = KernelBench(**FAST, mode=mode, compile=True)
    compiled = compiled_bench.prepare("phi6_simple", {}, "cpu", seed=3)
    torch.testing.assert_close(compiled.once(), eager.once())
    if mode == "fwd_bwd":
        torch.testing.assert_close(compiled.x.grad, eager.x.grad)
    metrics, extras = compiled_bench.measure("phi6_simple", {}, "cpu", seed=3)
    _positive(metrics)
    assert extras["compile_backend"] == "inductor"
