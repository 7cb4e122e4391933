"""replication: a skeptical replication and audit harness for energy-saving ML claims.

The path through the code: claims.py (spec) -> sweep.py (Hydra sweeper expands it into runs)
-> run.py (one training run -> records.py) -> stats.py / verdicts.py -> report.py.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = REPO_ROOT / "conf"
