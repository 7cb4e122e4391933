"""Where a run happened: code version, packages, device. Stored in every record."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import socket
import subprocess

import torch

from replication import REPO_ROOT

PACKAGES = (
    "torch",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "hydra-core",
    "omegaconf",
    "datasets",
    "matplotlib",
)


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            # --no-optional-locks: reading the state must not write .git/index
            ["git", "--no-optional-locks", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


@functools.cache
def code_version() -> dict:
    """HEAD's SHA and whether tracked code differs from it (runs/ and reports/ don't count).

    A copy of the tree on another machine (a rented GPU) names its commit in the environment:
    REPLICATION_GIT_SHA, and REPLICATION_GIT_DIRTY=1 if the copy differs from that commit. When
    set it wins over the copy's own .git, which may be a stale snapshot of another commit.
    """
    env_sha = os.environ.get("REPLICATION_GIT_SHA")
    if env_sha:
        return {
            "git_sha": env_sha,
            "git_dirty": os.environ.get("REPLICATION_GIT_DIRTY", "0") == "1",
            "git_source": "REPLICATION_GIT_SHA",
        }
    sha = _git("rev-parse", "HEAD")
    if sha:
        dirty = bool(_git("status", "--porcelain", "--", ".", ":!runs", ":!reports"))
        return {"git_sha": sha, "git_dirty": dirty}
    return {"git_sha": "unknown", "git_dirty": True}


@functools.cache
def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


@functools.cache
def cpu() -> dict:
    """The CPU model and the SIMD kernels torch picked: CPU results are bit-identical on one
    host, but another CPU model can round differently, and training amplifies that."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    return {"cpu_model": model, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def environment(device: str) -> dict:
    return {
        "device": device,
        "device_name": device_name(device),
        **cpu(),
        "torch_threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        **code_version(),
        "versions": versions(),
    }
