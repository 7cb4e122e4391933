"""replication: a skeptical replication and audit harness for energy-saving ML claims.

The path through the code: claims.py (spec) -> sweep.py (Hydra sweeper expands it into runs)
-> run.py (one training run -> records.py) -> stats.py / verdicts.py -> report.py.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = REPO_ROOT / "conf"
MAX_MESSAGE = 400  # characters: a user error is one line a person can read


class UserError(ValueError):
    """A mistake in what the user gave (a claim file, an option, a folder), not a bug.

    The CLI prints `error: <message>` on one line and exits 2; `str()` never spans lines."""

    def __init__(self, message: str) -> None:
        self.message = one_line(message)
        super().__init__(self.message)

    def __reduce__(self):  # launchers pickle a job's exception back to the sweeper
        return (UserError, (self.message,))


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """Whitespace (newlines included) collapsed, control characters (terminal escapes a
    hostile file could carry) shown escaped, and cut to `limit` characters."""
    flat = " ".join(str(text).split())
    flat = "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
