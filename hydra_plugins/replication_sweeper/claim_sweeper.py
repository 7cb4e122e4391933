"""Hydra sweeper plugin `hydra/sweeper=claim`: expands one claim into its runs.

Hydra only instantiates sweepers defined under the `hydra_plugins` package, so the class lives
here; the plan (which runs, in which stage, with which overrides) is replication/sweep.py.
Usage: python -m replication.run -m claim_id=h-ee-18 [budget=smoke] [hydra/launcher=joblib]
"""

import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from replication import UserError, records, workspace
from replication.claimfile import find_claim
from replication.claims import Claim
from replication.progress import Progress, enabled
from replication.records import RECORD_NAME
from replication.sweep import IDENTITY_KEYS, Budget, Job, every_job, planned_runs, run_claim
from replication.validate import check_claim

log = logging.getLogger(__name__)


@dataclass
class ClaimSweeperConf:
    _target_: str = "hydra_plugins.replication_sweeper.claim_sweeper.ClaimSweeper"


ConfigStore.instance().store(
    group="hydra/sweeper", name="claim", node=ClaimSweeperConf, provider="replication"
)


class ClaimSweeper(Sweeper):
    def __init__(self) -> None:
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None
        self.hydra_context: HydraContext | None = None
        self.job_idx = 0

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from hydra.core.plugins import Plugins

        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list[dict]:
        """The claim's runs; a user error (claim, option, folder) is one line and exit 2."""
        try:
            return self._sweep(arguments)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            sys.exit(2)

    def _sweep(self, arguments: list[str]) -> list[dict]:
        assert self.config is not None and self.hydra_context is not None
        extra = self._command_line(arguments)
        claim = find_claim(str(self.config.claim_id), Path(self.config.paths.claims))
        budget = Budget(**OmegaConf.to_container(self.config.budget, resolve=True))
        loader = self.hydra_context.config_loader
        check_claim(
            claim, lambda _, ovs: loader.load_sweep_config(self.config, ovs), [budget], extra
        )
        root = Path(self.config.paths.runs)
        for job in every_job(claim, budget):  # every place a record may go, before any run
            workspace.check_target(root / claim.id / job.run_id / RECORD_NAME, root)
        with workspace.claim_lock(root, claim.id):
            return self._launch_all(claim, budget, extra)

    def _launch_all(self, claim: Claim, budget: Budget, extra: list[str]) -> list[dict]:
        done: list[dict] = []
        progress = Progress(
            claim.id, planned_runs(claim, budget), enabled(str(self.config.sweep.progress))
        )

        def launch(jobs: list[Job]) -> list[dict]:
            rows = {j.run_id: self._cached(claim, j, extra) for j in jobs}
            todo = [j for j in jobs if rows[j.run_id] is None]
            done.extend(r for r in rows.values() if r is not None)
            progress.runs(len(jobs) - len(todo))
            started = self._launch(claim, todo, extra, progress)
            done.extend(started)
            launched = {r["run_id"]: r for r in started}
            return [rows[j.run_id] or launched[j.run_id] for j in jobs]

        choices = run_claim(claim, budget, launch, on_look=progress.look)
        for protocol, chosen in choices.items():
            log.info("%s/%s tuned: %s", claim.id, protocol, chosen)
        return done

    def _cached(self, claim: Claim, job: Job, extra: list[str]) -> dict | None:
        """The job's row if its record is already current: no worker is started for it (the
        run itself would find the record and return it). Any doubt leaves it to the run."""
        path = Path(self.config.paths.runs) / claim.id / job.run_id / RECORD_NAME
        if not path.is_file():
            return None
        assert self.hydra_context is not None
        try:
            cfg = self.hydra_context.config_loader.load_sweep_config(
                self.config, job.overrides(extra)
            )
            with open_dict(cfg):
                del cfg["hydra"]  # what the run sees (hydra's run_job drops it too)
            config = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        except Exception:  # the run composes it again and reports any problem properly
            return None
        rec = records.read_if_current(path, records.config_hash(config))
        if rec is None:
            return None
        log.info("%s %s (cached)", job.run_id, rec.status)
        return records.frame_row(rec) | {"run_id": job.run_id, "cached": True}

    def _launch(
        self, claim: Claim, jobs: list[Job], extra: list[str], progress: Progress
    ) -> list[dict]:
        """Start the jobs through the configured launcher, in chunks; one row per job."""
        if not jobs:
            return []
        log.info("%s: launching %d runs", claim.id, len(jobs))
        # with progress on, launch in ~10 chunks so there is something to report
        size = max(4, math.ceil(len(jobs) / 10)) if progress.show else len(jobs)
        if self.config.sweep.max_batch:
            size = min(size, int(self.config.sweep.max_batch))
        shared = [j for j in jobs if not j.exclusive]
        chunks = [(shared[i : i + size], False) for i in range(0, len(shared), size)]
        alone = [j for j in jobs if j.exclusive]  # timings: alone on the machine
        pool = getattr(self.launcher, "joblib", None)  # the parallel launcher's settings
        if alone and pool is not None:  # one launch, one worker: the runs follow each other
            chunks.append((alone, True))
        else:  # any other launcher: one launch per run
            chunks += [([j], False) for j in alone]
        out = []
        for chunk, serial in chunks:
            # the launch position is recorded, so a timing's run order can be checked
            batch = [
                [*job.overrides(extra), f"sweep.position={self.job_idx + i}"]
                for i, job in enumerate(chunk)
            ]
            n_jobs = pool.get("n_jobs") if serial else None
            if serial:
                pool["n_jobs"] = 1  # joblib runs them in this process, in order
            try:
                returns = self.launcher.launch(batch, initial_job_idx=self.job_idx)
            finally:
                if serial:
                    pool["n_jobs"] = n_jobs
            self.job_idx += len(batch)
            out += [r.return_value for r in returns]  # re-raises a job's exception
            progress.runs(len(batch))
        return out

    @staticmethod
    def _command_line(arguments: list[str]) -> list[str]:
        """Command-line overrides go into every job; they may not sweep or relabel runs."""
        parsed = OverridesParser.create().parse_overrides(arguments)
        for ov in parsed:
            key = ov.get_key_element()
            if ov.is_sweep_override():
                raise UserError(
                    f"'{ov.input_line}': the claim sweeper takes no sweeps on the command line; "
                    "seeds and arms come from the claim file"
                )
            if key in IDENTITY_KEYS and key != "claim_id":
                raise UserError(f"'{ov.input_line}': {key} is set by the claim sweeper")
        return [a for a in arguments if not a.startswith("claim_id=")]
