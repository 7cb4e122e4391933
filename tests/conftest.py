"""Shared fixtures. Tests never touch the network or the committed runs/ and reports/."""

import copy
import os
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
