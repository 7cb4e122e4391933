"""The code stays ruff-clean (the same check as `make lint`)."""

import subprocess
import sys

from conftest import REPO


def test_ruff_clean():
    res = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "replication", "hydra_plugins", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout
