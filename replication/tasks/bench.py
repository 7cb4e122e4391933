"""Timing benchmarks for speed claims (h-ee-1: "Phi6Simple is 8.1x faster than GELU").

What is timed, and why:

- A run is one replicate. It builds its input from `seed` alone (CPU generator, so the same
  seed gives the same values on CPU and CUDA), warms up, then times `repeats` repeats of
  `calls` calls. The metric is the MEDIAN over repeats of the per-call time (repeat time /
  calls): the median shrugs off the odd repeat hit by a page fault, a frequency step or
  another process, which a mean would carry into the verdict.
- Warm-up (and, with torch.compile, compilation, which happens in the first warm-up call) is
  never inside a timed region: a claim about a kernel's speed is about steady state.
- CPU: time.perf_counter around each repeat. CUDA: a pair of torch.cuda.Event(enable_timing)
  around each repeat on the current stream, read after torch.cuda.synchronize(); kernels are
  asynchronous, so host clocks would time the launches, not the work. The events are read
  once after the last repeat, so no host-device sync sits between repeats.
- Bandwidth is an ideal-traffic model: the bytes an elementwise op cannot avoid moving (read
  x and write y forward; read x and grad_out and write grad_in backward), divided by time.
  It is a LOWER bound on real traffic (eager kernels also write and re-read intermediates),
  so it is "effective" bandwidth; compare it with the device's peak to see how close to
  memory-bound a kernel is, not as a measurement of DRAM traffic.

KernelBench times one activation on a 1-D tensor with torch (eager or inductor); NumpyBench
reproduces the authors' pure-numpy microbenchmark so their ratio can be checked first; and
StepBench times a whole optimiser step of any model the caller builds.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from replication.models import activations

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16}
MODES = ("fwd", "fwd_bwd")
# Ideal tensors moved per element (see the module docstring): fwd reads x and writes y;
# fwd_bwd adds the backward's reads of x and grad_out and its write of grad_in.
TRAFFIC_PER_ELEMENT = {"fwd": 2, "fwd_bwd": 5}
NUMPY_INPUT_SEED = 42  # the authors' input seed, used whatever the run seed is


def bench_input(numel: int, dtype: str, device: str, seed: int) -> torch.Tensor:
    """The benchmark input: N(0, 1) of length numel, drawn from `seed` only.

    Drawn in float32 on a CPU generator, then cast and moved, so one seed gives bit-identical
    values on every device (a CUDA generator would draw a different stream).
    """
    return _draws(numel, dtype, device, seed, 1)[0]


def _draws(numel: int, dtype: str, device: str, seed: int, n: int) -> list[torch.Tensor]:
    """n successive N(0, 1) draws from one generator; the first is bench_input's."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(numel, generator=gen, dtype=torch.float32).to(DTYPES[dtype]).to(device)
        for _ in range(n)
    ]


def ideal_bytes(numel: int, dtype: str, mode: str) -> int:
    """Bytes one call must move at least (the lower-bound traffic model)."""
    if mode not in TRAFFIC_PER_ELEMENT:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    itemsize = torch.empty((), dtype=DTYPES[dtype]).element_size()
    return TRAFFIC_PER_ELEMENT[mode] * numel * itemsize


def _is_cuda(device: str) -> bool:
    return torch.device(device).type == "cuda"


def _sync(device: str) -> None:
    if _is_cuda(device):
        torch.cuda.synchronize(torch.device(device))


@contextlib.contextmanager
def _on(device: str) -> Iterator[None]:
    """Make a CUDA device current, so events and kernels share its current stream."""
    if _is_cuda(device):
        with torch.cuda.device(torch.device(device)):
            yield
    else:
        yield


def time_repeats(
    run_repeat: Callable[[], None],
    device: str,
    repeats: int,
    before: Callable[[], None] | None = None,
) -> list[float]:
    """Seconds taken by each of `repeats` calls of run_repeat (the caller has warmed up).

    `before` runs untimed ahead of each repeat (e.g. to stage the next batches).
    """
    if _is_cuda(device):
        pairs = []
        _sync(device)
        for _ in range(repeats):
            if before is not None:
                before()
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            run_repeat()
            end.record()
            pairs.append((start, end))
        _sync(device)
        return [start.elapsed_time(end) / 1e3 for start, end in pairs]
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        run_repeat()
        times.append(time.perf_counter() - t0)
    return times


def _inductor_cache() -> None:
    """Point inductor at a private temp cache unless the caller chose one."""
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-bench-")


@dataclass
class Prepared:
    """One benchmark's callable and the tensors it works on (exposed so tests can check them).

    call() is one timed call and returns its output; grad_enabled is the autograd mode the
    calls must run under (fwd runs under no_grad; a compiled fn is guarded on it).
    """

    call: Callable[[], torch.Tensor]
    x: torch.Tensor
    grad_out: torch.Tensor | None
    grad_enabled: bool

    def once(self) -> torch.Tensor:
        """One call under the right autograd mode (warm-up, tests)."""
        with torch.set_grad_enabled(self.grad_enabled):
            return self.call()


@dataclass
class KernelBench:
    """Time one activation on a 1-D tensor: forward, or forward + backward.

    fwd_bwd resets x.grad = None INSIDE the timed loop, before each call: it is a Python
    attribute store (no kernel), and it makes every backward write a fresh grad_in instead of
    accumulating into the old one (an extra read + write the traffic model leaves out).
    compile=True uses torch.compile(backend="inductor", dynamic=False); torch._dynamo.reset()
    runs first, so a sweep over sizes and dtypes in one process never hits dynamo's recompile
    limit (past it, calls silently run eager) and never gets a shape-generic kernel.
    """

    numel: int = 4_194_304
    mode: str = "fwd"
    compile: bool = False
    dtype: str = "float32"
    warmup: int = 3
    repeats: int = 20
    calls: int = 10

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"bench.mode must be one of {MODES}, got {self.mode!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"bench.dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if self.numel < 1 or self.repeats < 1 or self.calls < 1 or self.warmup < 0:
            raise ValueError("bench needs numel, repeats, calls >= 1 and warmup >= 0")
        if self.compile and self.warmup < 1:
            raise ValueError("bench.compile needs warmup >= 1: compilation must not be timed")

    def prepare(self, act: str, act_params: dict, device: str, seed: int) -> Prepared:
        """Build the input, the (compiled) function and the call to time; nothing runs yet."""
        fn = activations.get(act, **dict(act_params or {}))
        if self.compile:
            from torch import _dynamo  # imported only when compiling: it is slow to load

            _inductor_cache()
            _dynamo.reset()
            fn = torch.compile(fn, backend="inductor", dynamic=False)
        if self.mode == "fwd":
            x = bench_input(self.numel, self.dtype, device, seed)
            return Prepared(call=lambda: fn(x), x=x, grad_out=None, grad_enabled=False)
        x, g = _draws(self.numel, self.dtype, device, seed, 2)  # x is bench_input's draw
        x.requires_grad_(True)

        def call() -> torch.Tensor:
            x.grad = None
            y = fn(x)
            y.backward(g)
            return y

        return Prepared(call=call, x=x, grad_out=g, grad_enabled=True)

    def _copy_time(self, x: torch.Tensor, device: str) -> float:
        """Median per-call seconds of copying x into a preallocated tensor (read + write)."""
        out = torch.empty_like(x)
        calls = self.calls

        def run_repeat() -> None:
            for _ in range(calls):
                out.copy_(x)

        with torch.no_grad():
            out.copy_(x)
            return statistics.median(
                t / calls for t in time_repeats(run_repeat, device, self.repeats)
            )

    def measure(
        self, act: str, act_params: dict, device: str, seed: int, meter: object = None
    ) -> tuple[dict[str, float], dict]:
        """Median per-call time and ideal-traffic bandwidth of one replicate, and the copy
        bandwidth of the same device measured in the same run (a clone of the input: what a
        memory-bound elementwise kernel can at best reach)."""
        prep = self.prepare(act, act_params, device, seed)
        call, calls = prep.call, self.calls

        def run_repeat() -> None:
            for _ in range(calls):
                call()

        with _on(device), torch.set_grad_enabled(prep.grad_enabled):
            for _ in range(self.warmup):  # the first one compiles (forward and backward)
                call()
            repeat_s = time_repeats(run_repeat, device, self.repeats)
            copy_s = self._copy_time(prep.x.detach(), device)
        per_call = [t / calls for t in repeat_s]
        t = statistics.median(per_call)
        bandwidth = ideal_bytes(self.numel, self.dtype, self.mode) / t / 1e9
        copy_gbs = ideal_bytes(self.numel, self.dtype, "fwd") / copy_s / 1e9
        metrics = {
            "kernel_time_s": t,
            "kernel_bandwidth_gbs": bandwidth,
            "copy_bandwidth_gbs": copy_gbs,
            "bandwidth_vs_copy": bandwidth / copy_gbs,
        }
        extras = {
            "repeat_times_s": per_call,  # per-call time in each repeat; metric = their median
            "compile_backend": "inductor" if self.compile else "eager",
        }
        return metrics, extras


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


def _phi6_simple(x: np.ndarray) -> np.ndarray:
    xc = np.clip(x, -2, 2)
    return xc**2 - xc + 1


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(0, x)


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1 + np.exp(-np.clip(x, -30, 30)))


# The authors' numpy activations, written exactly as in their microbenchmark.
NUMPY_ACTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "gelu_tanh": _gelu_tanh,
    "phi6_simple": _phi6_simple,
    "relu": _relu,
    "silu": _silu,
}


def numpy_input(numel: int) -> np.ndarray:
    """The authors' input: float32 N(0, 1) from default_rng(42)."""
    return np.random.default_rng(NUMPY_INPUT_SEED).standard_normal(numel).astype(np.float32)


@dataclass
class NumpyBench:
    """The authors' pure-numpy microbenchmark, to reproduce their ratio before auditing it.

    The input is always default_rng(42) as the authors drew it; `seed` only labels the
    replicate, so replicates differ in timing noise, not data. Forward only, CPU only, numpy's
    single-threaded ufuncs.
    """

    numel: int = 1_000_000
    calls: int = 200
    warmup: int = 1
    repeats: int = 1

    def __post_init__(self) -> None:
        if self.numel < 1 or self.repeats < 1 or self.calls < 1 or self.warmup < 0:
            raise ValueError("bench needs numel, repeats, calls >= 1 and warmup >= 0")

    def measure(
        self, act: str, act_params: dict, device: str, seed: int, meter: object = None
    ) -> tuple[dict[str, float], dict]:
        """Median per-call time of the numpy forward (seed unused, see the class doc)."""
        if torch.device(device).type != "cpu":
            raise ValueError(f"NumpyBench runs on cpu only, got device {device!r}")
        if act not in NUMPY_ACTS:
            raise ValueError(f"unknown numpy activation {act!r} (known: {sorted(NUMPY_ACTS)})")
        if act_params:
            raise ValueError(f"the numpy activations take no parameters, got {act_params}")
        fn, x, calls = NUMPY_ACTS[act], numpy_input(self.numel), self.calls

        def run_repeat() -> None:
            for _ in range(calls):
                fn(x)

        for _ in range(self.warmup):
            fn(x)
        per_call = [t / calls for t in time_repeats(run_repeat, "cpu", self.repeats)]
        metrics = {"kernel_time_s": statistics.median(per_call)}
        extras = {
            "repeat_times_s": per_call,
            "numpy_version": np.__version__,
            "compile_backend": "numpy",
        }
        return metrics, extras


@dataclass
class StepBench:
    """Time whole training steps (forward, loss, zero_grad, backward, Adam step) of a model.

    Model-agnostic: the caller builds the model (and seeds it) and passes a batch factory.
    Each repeat's `steps` batches are drawn and moved to the device before its timer starts,
    so data loading and host-to-device copies are not timed; optimiser state is created
    during warm-up, so the timed steps are steady-state Adam steps. compile_model=True wraps
    the model in torch.compile (compiled during warm-up); autocast runs forward and loss under
    torch.autocast in that dtype. energy_windows > 0 then measures that many steady-state
    energy windows (replication/energy.py steady_windows: idle before and after, a cooldown
    before each window of >= energy.window_s), cycling over the staged batches.
    """

    warmup: int = 3
    repeats: int = 10
    steps: int = 5
    lr: float = 1e-3
    compile_model: bool = False
    autocast: str | None = None  # e.g. bfloat16
    energy_windows: int = 0

    def __post_init__(self) -> None:
        if self.repeats < 1 or self.steps < 1 or self.warmup < 0 or self.energy_windows < 0:
            raise ValueError("bench needs repeats, steps >= 1, warmup and energy_windows >= 0")
        if self.autocast is not None and self.autocast not in DTYPES:
            raise ValueError(f"bench.autocast must be null or one of {sorted(DTYPES)}")
        if self.compile_model and self.warmup < 1:
            raise ValueError("bench.compile needs warmup >= 1: compilation must not be timed")

    def measure_step(
        self,
        model: torch.nn.Module,
        batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        device: str,
        meter: object = None,
    ) -> tuple[dict, dict]:
        """Median per-step time of one replicate (the model is trained in place), and its
        energy per step when energy_windows > 0 and a meter is given."""
        model.to(device).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        forward = model
        if self.compile_model:
            from torch import _dynamo

            _inductor_cache()
            _dynamo.reset()
            forward = torch.compile(model, backend="inductor")
        amp = (
            torch.autocast(torch.device(device).type, dtype=DTYPES[self.autocast])
            if self.autocast
            else contextlib.nullcontext()
        )
        staged: list[tuple[torch.Tensor, torch.Tensor]] = []

        def stage() -> None:
            staged[:] = [tuple(t.to(device) for t in batch()) for _ in range(self.steps)]

        def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            with amp:
                loss = loss_fn(forward(x), y)
                aux = getattr(model, "aux_loss", None)  # an MoE's load balancing, as in training
                loss = loss if aux is None else loss + aux
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return loss

        def run_repeat() -> None:
            for x, y in staged:
                step(x, y)

        extras: dict = {}
        with _on(device):
            for _ in range(self.warmup):
                x, y = (t.to(device) for t in batch())
                step(x, y)
            repeat_s = time_repeats(run_repeat, device, self.repeats, before=stage)
            if self.energy_windows and meter is not None:
                from replication.energy import steady_windows

                pool = itertools.cycle(list(staged))
                windows = steady_windows(meter, lambda: step(*next(pool)), 2, self.energy_windows)
                extras["energy_window_steps"] = [w.steps for w in windows]
        per_step = [t / self.steps for t in repeat_s]
        metrics = {"step_time_s": statistics.median(per_step)}
        extras |= {
            "repeat_times_s": per_step,
            "compile_backend": "inductor" if self.compile_model else "eager",
            "autocast": self.autocast,
        }
        return metrics, extras


@dataclass
class StepTiming(StepBench):
    """A whole training step of a language model on random token windows (the model comes
    from conf/model, e.g. the char transformer with the activation under test)."""

    vocab_size: int = 80
    seq_len: int = 64
    batch_size: int = 16

    def measure(
        self, model: torch.nn.Module, device: str, seed: int, meter: object = None
    ) -> tuple[dict, dict]:
        gen = torch.Generator().manual_seed(seed)

        def batch() -> tuple[torch.Tensor, torch.Tensor]:
            ids = torch.randint(
                0, self.vocab_size, (self.batch_size, self.seq_len + 1), generator=gen
            )
            return ids[:, :-1], ids[:, 1:]

        def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))

        return self.measure_step(model, batch, loss, device, meter)
