"""Shared fixtures. Tests never touch the network or the committed runs/ and reports/."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parent.parent
CLAIMS = REPO / "claims"


@pytest.fixture
def claim_dict() -> dict:
    """The real h-ee-18 spec as a dict, to be mutated into bad claims."""
    return copy.deepcopy(yaml.safe_load((CLAIMS / "h-ee-18.yaml").read_text()))


@pytest.fixture
def write_claim(tmp_path):
    """Write a claim dict as <tmp>/<name>.yaml and return the path."""

    def _write(data: dict, name: str = "h-ee-18") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return _write


def make(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """`make` as a user runs it, with this interpreter's venv. The suite itself may run
    under `make test`; make's own variables are dropped so this is a top-level make."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(
        ["make", f"PY={sys.executable}", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict:
    """Relative path -> bytes of every file below folder (names in `skip` left out)."""
    return {
        p.relative_to(folder): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def reports_of(folder: Path, runs: Path, skip: tuple[str, ...] = ("cost.md",)) -> dict:
    """snapshot() of a reports folder with its runs path written as <runs>: a report names
    the folder its records came from, and two runs of a test use two temporary folders."""
    return {
        rel: data.replace(str(runs).encode(), b"<runs>") if rel.suffix == ".md" else data
        for rel, data in snapshot(folder, skip).items()
    }


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """One uninterrupted `make replicate CLAIM=h-ee-18 BUDGET=smoke`, shared by the tests."""
    out = tmp_path_factory.mktemp("smoke")
    args = f"ARGS=paths.runs={out / 'runs'} paths.reports={out / 'reports'}"
    res = make("replicate", "CLAIM=h-ee-18", "BUDGET=smoke", args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out, args
