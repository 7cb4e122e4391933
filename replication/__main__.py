"""Command line: python -m replication {replicate,report,validate,list}.

`replicate` runs the claim's Hydra multirun (a subprocess, so the exact command is printed and
can be re-run by hand) and then renders the report from the records it left.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from replication import CONF_DIR
from replication.claims import ClaimError, find_claim, load_claim
from replication.report import write_report
from replication.sweep import check_composes


def composed(overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def paths_for(budget: str, extra: list[str]) -> DictConfig:
    return composed([f"budget={budget}", *extra]).paths


def cmd_replicate(args: argparse.Namespace) -> int:
    cmd = [
        sys.executable,
        "-m",
        "replication.run",
        "-m",
        f"claim_id={args.claim}",
        f"budget={args.budget}",
        f"hydra/launcher={args.launcher}",
        *args.overrides,
    ]
    print("+", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, env=os.environ | {"OMP_NUM_THREADS": "1"})
    if rc != 0:
        return rc
    print(f"sweep finished in {time.perf_counter() - t0:.1f} s", flush=True)
    return cmd_report(args)


def cmd_report(args: argparse.Namespace) -> int:
    cfg = composed(
        [
            f"budget={args.budget}",
            *[o for o in args.overrides if o.startswith(("paths.", "budget."))],
        ]
    )
    p = cfg.paths
    path = write_report(
        args.claim, Path(p.claims), Path(p.runs), Path(p.reports), cfg.budget.max_seeds
    )
    print(f"report: {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    claims_dir = Path(paths_for("default", []).claims)
    paths = [Path(c) if c.endswith(".yaml") else claims_dir / f"{c}.yaml" for c in args.claims]
    paths = paths or sorted(claims_dir.glob("*.yaml"))
    for path in paths:
        claim = load_claim(path)
        check_composes(claim, composed, ["budget=default"])
        print(f"ok: {path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    claims_dir = Path(paths_for("default", []).claims)
    for path in sorted(claims_dir.glob("*.yaml")):
        claim = find_claim(path.stem, claims_dir)
        print(f"{claim.id:12s} {claim.title}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from replication import calibration

    t0 = time.perf_counter()
    rates = calibration.run(args.sims, args.resamples, n_jobs=args.jobs)
    seconds = time.perf_counter() - t0
    calibration.write_report(rates, Path(args.out), args.resamples, seconds)
    for r in rates:
        ok = "ok " if calibration.within(r) else "OUT"
        print(f"{ok} {r.name:28s} {r.dist:7s} {r.setting:26s} {r.rate:.3f} ({r.bound})")
    print(f"wrote {Path(args.out) / 'calibration.md'} in {seconds:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replication", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in [
        ("replicate", "run a claim's sweep, then write its report"),
        ("report", "re-render a claim's report from existing records"),
    ]:
        p = sub.add_parser(name, help=helptext)
        p.add_argument("claim")
        p.add_argument("--budget", default="default", help="conf/budget profile")
        if name == "replicate":
            p.add_argument("--launcher", default="parallel", help="conf/hydra/launcher preset")
        p.add_argument("overrides", nargs="*", help="extra Hydra overrides, e.g. paths.runs=/tmp")
    p = sub.add_parser("validate", help="check claim files (schema and composable arms)")
    p.add_argument("claims", nargs="*")
    sub.add_parser("list", help="list claims")
    p = sub.add_parser("calibrate", help="simulate the verdict engine's error rates")
    p.add_argument("--sims", type=int, default=2000, help="simulations per row")
    p.add_argument("--resamples", type=int, default=9999, help="bootstrap resamples per CI")
    p.add_argument("--jobs", type=int, default=-1, help="processes (joblib; -1 = all cores)")
    p.add_argument("--out", default="reports", help="folder for calibration.md and .png")
    args, unknown = parser.parse_known_args(argv)
    # argparse cannot take positional overrides after options; accept them anywhere
    stray = [u for u in unknown if u.startswith("-") or "=" not in u]
    if stray or (unknown and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(stray or unknown)}")
    if unknown:
        args.overrides += unknown
    handler = {
        "replicate": cmd_replicate,
        "report": cmd_report,
        "validate": cmd_validate,
        "list": cmd_list,
        "calibrate": cmd_calibrate,
    }[args.command]
    try:
        return handler(args)
    except ClaimError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
