"""Where the harness writes, and how: under the runs and reports roots only, atomically, and
one sweep of a claim at a time.

The roots are the configured `paths.runs` and `paths.reports` (or a folder the user names,
e.g. `make merge --into`). Every file the harness writes goes through `write_atomic`, which
resolves the target (following links) and refuses, in one line, a target outside its root, a
link, or a folder where a file should be. A write goes to a temporary file unique to its
writer, then is renamed over the target; only its writer removes it, or, once that writer's
process is gone, the next writer to the same place.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from replication import UserError

LOCKS = ".locks"  # below the runs root: one lock per claim


class WriteRefused(UserError):
    """A write the harness will not make; the message names the path and why."""


def inside(path: Path | str, root: Path | str) -> Path:
    """`path` resolved, if it lies under `root` (also resolved); else WriteRefused."""
    path, root = Path(path), Path(root)
    real, top = path.resolve(), root.resolve()
    if real != top and not real.is_relative_to(top):
        raise WriteRefused(
            f"{path}: resolves to {real}, outside {root} ({top}); refusing to write there "
            "(is a folder on the way a link?)"
        )
    return real


def check_target(path: Path | str, root: Path | str) -> Path:
    """A place a file may be written: under root, and not a link or a folder."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        what = "a link" if path.is_symlink() else "a folder" if path.is_dir() else "not a file"
        raise WriteRefused(f"{path}: is {what} where a file should be written; move it away")
    return inside(path, root)


def _host() -> str:
    return "".join(c if c.isalnum() else "-" for c in socket.gethostname())[:40] or "host"


def _clear_dead(path: Path) -> None:
    """Remove temporaries left at `path` by writers on this host whose process has gone."""
    for tmp in path.parent.glob(f".{path.name}.{_host()}.*.tmp"):
        pid = tmp.name[len(f".{path.name}.{_host()}.") :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomic(path: Path | str, data: bytes | str, root: Path | str) -> Path:
    """Write `data` to `path` (under `root`): a temporary file, fsynced, renamed over it."""
    path = Path(path)
    check_target(path, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    inside(path.parent, root)  # nothing on the way turned into a link meanwhile
    _clear_dead(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{_host()}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def claim_lock(
    runs_root: Path | str, claim_id: str, say: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the claim's lock in this runs root: a second sweep of the same claim waits (and
    says who holds it) instead of training the same runs twice."""
    root = Path(runs_root)
    lock_path = root / LOCKS / f"{claim_id}.lock"
    check_target(lock_path, root)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    holder = lock_path.with_suffix(".json")
    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        (say or _stderr)(
            f"{claim_id}: another sweep of this claim holds {lock_path} ({_holder(holder)}); "
            "waiting for it to finish"
        )
        lock.acquire()
    try:
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        write_atomic(holder, json.dumps(me), root)
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _holder(path: Path) -> str:
    try:
        h = json.loads(path.read_text())
        return f"pid {h['pid']} on {h['host']} since {h['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
