"""A claim file can never reach outside the project: the hostile corpus, and the write side.

tests/hostile/ holds one claim file per attack; its header names the field the refusal must
name (`# expect-field:`) and a phrase of the message (`# expect:`). Adding an attack is
adding a file.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, make, reports_of
from hydra import compose, initialize_config_dir

from replication import CONF_DIR, workspace
from replication.__main__ import main
from replication.claimfile import load_claim
from replication.claims import ClaimError

HOSTILE = Path(__file__).parent / "hostile"
SPECS = Path(__file__).parent / "specs"
ESCAPE = Path("/tmp/replication-hostile-escape")  # where the payloads aim
SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hf_home"}


def expectation(path: Path) -> tuple[str, str]:
    head = path.read_text(encoding="utf-8")
    field = re.search(r"^# expect-field: (.*)$", head, re.M).group(1)
    text = re.search(r"^# expect: (.*)$", head, re.M).group(1)
    return field, text


def tree(root: Path) -> set[str]:
    """Every path below root, skipping caches and the venv (their contents are not ours)."""
    out = set()
    for here, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP]
        out |= {os.path.join(here, name) for name in dirs + files}
    return out


def error_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    """One runs/reports root for the whole corpus: nothing may ever appear in it."""
    return tmp_path_factory.mktemp("hostile")


@pytest.mark.parametrize("path", sorted(HOSTILE.glob("*.yaml")), ids=lambda p: p.stem)
def test_hostile_claim_is_refused_in_one_line_and_nothing_is_written(path, sandbox, capfd):
    field, text = expectation(path)
    runs, reports = sandbox / "runs", sandbox / "reports"
    where = [f"paths.runs={runs}", f"paths.reports={reports}"]
    repo_before, around_before = tree(REPO), set(os.listdir(sandbox.parent))

    assert main(["validate", str(path), *where]) == 2
    out, err = capfd.readouterr()
    assert len(error_lines(err)) == 1 and err.startswith("error: "), err
    assert f"{path}: field '{field}'" in err and text in err, err

    try:  # what the file shows is refused by replicate itself, before the sweep starts
        load_claim(path)
    except ClaimError:
        rc = main(["replicate", path.stem, "--budget", "smoke", f"paths.claims={HOSTILE}", *where])
        out, err = capfd.readouterr()
        assert rc == 2 and "+ " not in out, out + err  # no sweep was launched
        assert len(error_lines(err)) == 1 and err.startswith("error: "), err
        assert f"field '{field}'" in err and text in err, err
    # (what only composing shows is refused by the sweeper: test_the_sweeper_refuses_...)
    assert list(sandbox.iterdir()) == []  # not a record, a lock, a report or a folder
    assert not ESCAPE.exists()
    assert tree(REPO) == repo_before
    assert set(os.listdir(sandbox.parent)) == around_before


@pytest.mark.parametrize("name", ["optim-lr-abc", "negative-width"])
def test_the_sweeper_refuses_what_only_composing_shows(name, tmp_path, capfd):
    """replicate -> the sweeper composes every run config before the first run: one line."""
    path = HOSTILE / f"{name}.yaml"
    field, text = expectation(path)
    where = [f"paths.runs={tmp_path / 'runs'}", f"paths.reports={tmp_path / 'reports'}"]
    rc = main(["replicate", name, "--budget", "smoke", f"paths.claims={HOSTILE}", *where])
    out, err = capfd.readouterr()
    assert rc == 2, out + err
    assert len(error_lines(err)) == 1 and err.startswith("error: "), err
    assert f"field '{field}'" in err and text in err and "Traceback" not in out + err
    assert "launching" not in out and list(tmp_path.iterdir()) == []
    assert not ESCAPE.exists()


def test_the_corpus_is_live_without_the_guard():
    """Hydra itself would take these attacks: the corpus tests the guard, not a straw man."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", ["+model@_global_=../../tests/hostile/payload/evil"])
        assert cfg.paths.runs == str(ESCAPE / "runs")
        cfg = compose("config", ["arm=${oc.env:HOME}"])
        assert cfg.arm == os.environ["HOME"]


def test_a_huge_claim_file_is_refused_before_it_is_parsed(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    seeds = ", ".join(str(i) for i in range(10**6))
    path.write_text((SPECS / "spec-tiny.yaml").read_text().replace("[0, 1]", f"[{seeds}]"))
    t0 = time.perf_counter()
    assert main(["validate", str(path)]) == 2
    assert time.perf_counter() - t0 < 5
    err = capsys.readouterr().err
    assert f"{path}: field '?'" in err and "a claim file may have at most" in err


@pytest.mark.parametrize("kind", ["link", "not-utf8"])
def test_claim_files_that_are_links_or_not_text_are_refused(tmp_path, capsys, kind):
    path = tmp_path / "spec-tiny.yaml"
    if kind == "link":
        path.symlink_to(SPECS / "spec-tiny.yaml")
        text = "not a link"
    else:
        path.write_bytes((SPECS / "spec-tiny.yaml").read_bytes() + b"\n# \xff\xfe\n")
        text = "not UTF-8"
    assert main(["validate", str(path)]) == 2
    assert text in capsys.readouterr().err


def tiny(tmp_path: Path, runs: Path, capfd) -> tuple[int, str]:
    args = [f"paths.claims={SPECS}", f"paths.runs={runs}", f"paths.reports={tmp_path / 'rep'}"]
    rc = main(["replicate", "spec-tiny", "--launcher", "basic", *args])
    out, err = capfd.readouterr()
    return rc, out + err


def test_a_link_inside_runs_cannot_carry_records_outside(tmp_path, capfd):
    runs, outside = tmp_path / "runs", tmp_path / "outside"
    outside.mkdir()
    (runs / "spec-tiny").mkdir(parents=True)
    (runs / "spec-tiny" / "audit").symlink_to(outside, target_is_directory=True)
    rc, text = tiny(tmp_path, runs, capfd)
    assert rc == 2 and "Traceback" not in text
    assert "outside" in text and "refusing to write there" in text
    assert list(outside.iterdir()) == []  # not even a folder was made there
    assert not list(runs.rglob("record.json"))


def test_a_folder_where_a_record_goes_is_one_line(tmp_path, capfd):
    runs = tmp_path / "runs"
    (runs / "spec-tiny" / "audit" / "equal" / "seed=1" / "record.json").mkdir(parents=True)
    rc, text = tiny(tmp_path, runs, capfd)
    assert rc == 2 and "Traceback" not in text
    assert "is a folder where a file should be written" in text
    assert not list(runs.rglob("record.json/*"))


@pytest.mark.parametrize(
    "target, args, text",
    [
        ("replicate", ["CLAIM=does-not-exist"], "unknown claim 'does-not-exist'"),
        ("nightly", [f"ARGS=paths.claims={HOSTILE / 'payload'}"], "payload/evil.yaml: field"),
    ],
)
def test_make_prints_a_user_error_as_one_line(target, args, text, tmp_path):
    res = make(target, *args)
    assert res.returncode != 0
    ours = [ln for ln in res.stderr.splitlines() if not ln.startswith("make: ")]
    assert len(ours) == 1 and ours[0].startswith("error: "), res.stderr
    assert text in ours[0] and "Error 2" in res.stderr
    assert "Traceback" not in res.stdout + res.stderr


@pytest.mark.parametrize(
    "argv, text",
    [
        (["replicate", "../../etc/passwd"], "is not a valid name"),
        (["report", "does-not-exist"], "unknown claim 'does-not-exist'"),
        (["replicate", "h-ee-18", "--budget", "../../x"], "BUDGET=../../x: unknown budget"),
        (["replicate", "h-ee-18", "--launcher", "nope"], "LAUNCHER=nope: unknown launcher"),
        (["replicate", "h-ee-18", "paths.runs=a=b"], "ARGS: paths.runs=a=b:"),
        (["validate", f"paths.claims={HOSTILE}", "target-key"], "field 'protocols.faithful"),
        (["merge", "/does/not/exist"], "FROM: /does/not/exist is not a folder"),
        (["list", f"paths.claims={HOSTILE}"], "hostile/arm-comma.yaml: field"),
    ],
)
def test_every_user_error_is_one_line_and_exit_2(argv, text, capfd):
    rc = main(argv)
    out, err = capfd.readouterr()
    assert rc == 2, out + err
    lines = error_lines(err)
    assert lines and all(ln.startswith("error: ") for ln in lines), err
    assert text in lines[0] and "Traceback" not in out + err
    if argv[0] != "list":  # list names every bad file it meets, one line each
        assert len(lines) == 1, err


def test_two_replicates_of_one_claim_share_the_work(tmp_path):
    """Started together in one checkout: one waits for the other's lock, trains nothing,
    and both write the report a single run writes."""

    def replicate(out: Path) -> list:
        args = [
            f"paths.claims={SPECS}",
            f"paths.runs={out / 'runs'}",
            f"paths.reports={out / 'reports'}",
        ]
        cmd = [
            "make",
            f"PY={sys.executable}",
            "replicate",
            "CLAIM=spec-tiny",
            "ARGS=" + " ".join(args),
        ]
        return cmd

    single = subprocess.run(replicate(tmp_path / "single"), cwd=REPO, capture_output=True)
    assert single.returncode == 0
    procs = [
        subprocess.Popen(
            replicate(tmp_path / "both"),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    runs = tmp_path / "both" / "runs"
    n = len(list(runs.rglob("record.json")))
    trained = sum(len(re.findall(r"^\S+ (complete|diverged|failed) $", o, re.M)) for o in outs)
    cached = sum(o.count("(cached)") for o in outs)
    assert n == 6 and trained == n and cached == n  # each run trained once, reused once
    assert sum("another sweep of this claim holds" in o for o in outs) == 1
    both = reports_of(tmp_path / "both" / "reports", runs)
    assert both == reports_of(tmp_path / "single" / "reports", tmp_path / "single" / "runs")
    assert not list(runs.rglob("*.tmp"))


def test_writes_stay_under_their_root_and_temporaries_are_the_writers_own(tmp_path):
    root = tmp_path / "root"
    (tmp_path / "elsewhere").mkdir()
    (root / "sub").mkdir(parents=True)
    (root / "away").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(workspace.WriteRefused, match="outside"):
        workspace.write_atomic(root / "away" / "x.md", "x", root)
    with pytest.raises(workspace.WriteRefused, match="outside"):
        workspace.write_atomic(root / ".." / "x.md", "x", root)
    target = root / "sub" / "r.json"
    host = workspace._host()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
        ).stdout.strip()
        theirs = root / "sub" / f".r.json.{host}.{live.pid}.abc.tmp"  # a writer at work
        gone = root / "sub" / f".r.json.{host}.{dead}.abc.tmp"  # a writer killed earlier
        other_host = root / "sub" / f".r.json.otherhost.{dead}.abc.tmp"
        for p in (theirs, gone, other_host):
            p.write_text("partial")
        workspace.write_atomic(target, "done", root)
        assert target.read_text() == "done"
        assert theirs.exists() and other_host.exists() and not gone.exists()
    finally:
        live.kill()


def test_the_lock_says_who_holds_it_and_waits(tmp_path):
    code = (
        "import sys, time; from replication import workspace\n"
        f"with workspace.claim_lock({str(tmp_path)!r}, 'c'):\n"
        "    print('held', flush=True); time.sleep(3)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    said: list[str] = []
    t0 = time.perf_counter()
    with workspace.claim_lock(tmp_path, "c", say=said.append):
        waited = time.perf_counter() - t0
    holder.wait()
    assert waited > 1.0 and len(said) == 1
    assert f"pid {holder.pid}" in said[0] and "waiting" in said[0]


def test_an_invalid_claim_does_not_stop_the_index(tmp_path, capsys):
    claims = tmp_path / "claims"
    claims.mkdir()
    (claims / "spec-tiny.yaml").write_bytes((SPECS / "spec-tiny.yaml").read_bytes())
    (claims / "arm-comma.yaml").write_bytes((HOSTILE / "arm-comma.yaml").read_bytes())
    args = [f"paths.claims={claims}", f"paths.runs={tmp_path / 'runs'}"]
    assert main(["report", "spec-tiny", *args, f"paths.reports={tmp_path / 'rep'}"]) == 0
    index = (tmp_path / "rep" / "README.md").read_text()
    assert "[spec-tiny](spec-tiny.md)" in index
    assert "left out" in index and "arm-comma.yaml: field 'protocols.audit.arms'" in index
    err = capsys.readouterr().err
    assert err.count("warning: left out") == 1 and "arm-comma.yaml" in err


HIDDEN = r"model.router=$\{oc.create:\{_target_:builtins.open\,file:{file}\,mode:w\}\}"


def test_composing_stops_what_a_guard_bug_would_let_through(tmp_path):
    """The second wall alone: an override the guard would refuse, put into a loaded claim
    behind the guard's back, is still refused before anything resolves it."""
    from replication.__main__ import validated
    from replication.claimfile import load_claim
    from replication.claims import ClaimError
    from replication.profiles import budget

    claim = load_claim(SPECS / "spec-tiny.yaml")
    target = tmp_path / "pwned"
    claim.protocols["faithful"].arms["egyptian"].append(HIDDEN.replace("{file}", str(target)))
    with pytest.raises(ClaimError, match="is not one conf/ writes") as info:
        validated(claim, [budget("smoke", [])], [])
    assert info.value.field == "protocols.faithful.arms.egyptian[1]"
    assert not target.exists()
    claim.protocols["faithful"].arms["egyptian"][-1] = "+model.router.rank._target_=os.getpid"
    with pytest.raises(ClaimError, match=r"'os\.getpid' is not a class conf/ names"):
        validated(claim, [budget("smoke", [])], [])


def test_build_resolves_before_it_looks_for_targets(tmp_path):
    """The last wall at run time: a `_target_` hidden in an interpolation is found."""
    from omegaconf import OmegaConf

    from replication.run import build

    target = tmp_path / "pwned"
    node = OmegaConf.create({"a": f"${{oc.create:{{_target_: builtins.open, file: {target}}}}}"})
    with pytest.raises(ValueError, match=r"refusing to instantiate 'builtins\.open'"):
        build(node)
    assert not target.exists()


def test_a_pipe_in_claim_text_cannot_open_a_table_column():
    from replication.report.fmt import table

    row = table(["claim", "title"], [["x", "forged | **CONFIRMED** | 30"]])[-1]
    assert row == "| x | forged \\| **CONFIRMED** \\| 30 |"
