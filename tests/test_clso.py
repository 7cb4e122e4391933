"""CLSO (issue 12): the crystalline libraries, the GPT-2, the source's search and its
surrogate, the padded-lines task, and the equal-energy comparisons of searchtrace.py."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from replication import searchtrace
from replication.accounting import count_params
from replication.energy import Meter
from replication.evolve import GeneticSearch, Surrogate
from replication.models import crystal
from replication.models.gpt2 import GPT2LM
from replication.tasks.clso import CLSOTask, schedule
from replication.tasks.lines import IGNORE, LineLMTask


def test_libraries_are_half_block_diagonal_half_quantised_low_rank():
    g = torch.Generator().manual_seed(0)
    lib = crystal.library(8, d_in=48, d_out=96, g=g)
    assert lib.shape == (8, 96, 48)
    for w in lib[:4]:  # block-diagonal: each row's nonzero span starts and ends after the last's
        spans = [torch.nonzero(r).flatten() for r in w]
        starts, ends = [int(c.min()) for c in spans], [int(c.max()) for c in spans]
        assert starts == sorted(starts) and ends == sorted(ends) and (w == 0).any()
    max_rank = max(4, 48 // 4)
    for w in lib[4:]:  # U V^T / sqrt(r) with U, V in {-1, 0, 1}: integers over sqrt(r)
        assert int(torch.linalg.matrix_rank(w)) <= max_rank
        assert any(
            torch.allclose(w * math.sqrt(r), torch.round(w * math.sqrt(r)), atol=1e-4)
            for r in range(2, max_rank + 1)
        )
    again = crystal.library(8, 48, 96, torch.Generator().manual_seed(0))
    assert torch.equal(lib, again)


def test_gpt2_counts_its_parameters_and_flops():
    d, t, v, layers = 32, 16, 50, 2
    m = GPT2LM(v, t, d_model=d, n_heads=4, n_layers=layers)
    by_hand = v * d + t * d + layers * (12 * d * d + 9 * d + 4 * d) + 2 * d  # W, b, LNs
    assert count_params(m) == by_hand  # the output layer is the tied embedding
    ids = torch.randint(0, v, (1, t))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        m(ids)  # the math kernel: its matmuls are what the counter sees
    assert fc.get_total_flops() == sum(m.flop_counts().values())


def test_frozen_gpt2_has_nothing_to_train_and_hf_scaled_residual_init():
    m = GPT2LM(80, 32, frozen=True)
    assert not any(p.requires_grad for p in m.parameters())
    std = m.blocks[0].mlp_proj.weight.std().item()
    assert std == pytest.approx(0.02 / math.sqrt(4), rel=0.1)
    assert m.blocks[0].fc.weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_the_genome_layout_as_run_and_as_described():
    m = GPT2LM(80, 32)
    assert crystal.slots(m, crystal.GENES_AS_RUN) == [
        (0, "fc"),
        (0, "mlp_proj"),
        (1, "fc"),
        (1, "mlp_proj"),
    ]
    assert len(crystal.slots(m, crystal.GENES_AS_DESCRIBED)) == 8


def test_assemble_copies_the_chosen_matrices_and_checks_the_length():
    m = GPT2LM(80, 32, d_model=32)
    libs = crystal.libraries(m, 4, seed=1)
    layout = crystal.slots(m, crystal.GENES_AS_RUN)
    crystal.assemble(m, libs, layout, [3, 0, 2, 1])
    assert torch.equal(m.blocks[1].fc.weight, libs["fc"][2])
    assert torch.equal(m.blocks[0].mlp_proj.weight, libs["mlp_proj"][0])
    with pytest.raises(ValueError, match="genome of 3 genes"):
        crystal.assemble(m, libs, layout, [0, 0, 0])


def test_the_source_loss_of_1_65_is_below_the_floor_of_its_frozen_model():
    torch.manual_seed(0)
    wte = torch.randn(50257, 128) * 0.02  # GPT-2's vocabulary, the source's d and init
    assert crystal.loss_floor(wte) > 5.0 > 1.6538


def test_no_genome_beats_the_loss_floor():
    m = GPT2LM(3000, 16, d_model=32, n_layers=1, frozen=True)
    libs = crystal.libraries(m, 8, seed=0)
    layout = crystal.slots(m, crystal.GENES_AS_DESCRIBED)
    floor = crystal.loss_floor(m.wte.weight)
    ids = torch.randint(0, 3000, (8, 16))
    for g in ([0, 0, 0, 0], [7, 7, 7, 7], [1, 5, 2, 6]):
        crystal.assemble(m, libs, layout, g)
        out = m(ids[:, :-1])
        losses = torch.nn.functional.cross_entropy(
            out.reshape(-1, 3000), ids[:, 1:].reshape(-1), reduction="none"
        )
        assert losses.min().item() >= floor - 1e-6


def test_evolution_keeps_the_elites_and_is_seeded():
    a, b = GeneticSearch(10, 4, 16, seed=3), GeneticSearch(10, 4, 16, seed=3)
    assert a.population == b.population
    fit = [float(sum(g)) for g in a.population]
    best = sorted(a.population, key=sum)[:1]
    a.evolve(fit)
    b.evolve(fit)
    assert a.population == b.population and a.population[0] == best[0]
    assert GeneticSearch(10, 4, 16, seed=4).population != b.population


def test_surrogate_waits_for_ten_points_then_learns():
    s = Surrogate(4, 16, seed=0)
    pairs = [([i % 16, 1, 2, 3], 4.0 + i % 3) for i in range(6)]
    before = s.predict([[0, 1, 2, 3]])
    s.update(pairs)
    assert s.predict([[0, 1, 2, 3]]) == before  # six points: no training yet
    s.update(pairs)
    assert s.predict([[0, 1, 2, 3]]) != before


def test_the_schedule_counts_the_sources_real_evaluations():
    assert sum(schedule(32, 50, 6, 5, 50)) == 1 + 5 * 32 + 45 * 6 + 5 == 436
    assert sum(schedule(32, 50, 32, 5, 50)) == 1 + 50 * 32 + 5


@pytest.fixture(scope="module")
def lines():
    task = LineLMTask(vocab_size=80, seq_len=24, eval_rows=8, eval_batch=4)
    return task, task.load(0)


def test_pads_are_masked_except_each_lines_end(lines):
    task, splits = lines
    row = splits.val[:8]
    _, y = task.targets(row)
    real = (row[:, 1:] != task.pad).long()
    ends = ((row[:, 1:] == task.pad) & (row[:, :-1] != task.pad)).long()
    assert torch.equal((y != IGNORE).long(), real + ends)
    task.pad_loss = True
    _, y_all = task.targets(row)
    task.pad_loss = False
    assert (y_all != IGNORE).all()
    empty = row[(row == task.pad).all(dim=1)]
    assert len(empty) and (task.targets(empty)[1] == IGNORE).all()  # an empty line scores nothing


def test_lines_task_names_a_wrong_vocabulary():
    with pytest.raises(ValueError, match=r"task\.vocab_size is 81"):
        LineLMTask(vocab_size=81).load(0)


def _tiny(**kw) -> CLSOTask:
    return CLSOTask(
        vocab_size=80, seq_len=24, eval_rows=4, eval_batch=4, pop=8, generations=7, **kw
    )


def test_search_without_surrogate_never_regresses_and_reports_what_it_measured():
    t = _tiny(full_eval_frac=1.0)
    m, _ = t.measure(GPT2LM(80, 24, d_model=32, frozen=True), "cpu", 0, Meter("cpu"))
    assert m["best_regressions"] == 0 and m["predicted_evals"] == 0
    assert m["reported_best_loss"] == m["best_real_fitness"] == m["reverified_loss"]


def test_surrogate_search_reports_predictions_and_is_deterministic():
    def once():
        torch.manual_seed(5)  # run.py seeds the model's init with the run seed
        return _tiny().measure(GPT2LM(80, 24, d_model=32, frozen=True), "cpu", 5, Meter("cpu"))

    runs = [once(), once()]
    (m, ex), (m2, ex2) = runs
    assert m["real_evals"] == sum(_tiny().schedule()) and m["predicted_evals"] == 2 * 7
    assert m["reported_best_loss"] <= m["best_real_fitness"]
    rows = ex["generations"]
    assert (
        all(r["min_predicted"] is None for r in rows[:5]) and rows[5]["min_predicted"] is not None
    )
    drop = {k: v for k, v in m.items() if k not in ("method_time_s", "energy_per_eval_j")}
    assert (
        drop == {k: v for k, v in m2.items() if k in drop}
        and ex["generations"] == ex2["generations"]
    )


def test_adam_baseline_trains_every_weight_in_the_same_task():
    t = _tiny(method="adam", steps=6, eval_every=3, batch_size=2)
    m, ex = t.measure(GPT2LM(80, 24, d_model=32), "cpu", 0, Meter("cpu"))
    assert m["optimizer_steps"] == 6 and [c["step"] for c in ex["curve"]] == [0, 3, 6]
    assert m["test_loss"] < math.log(80) + 1


def _rec(arm, seed, joules, **extras):
    return SimpleNamespace(
        stage="eval", status="complete", protocol="audit", arm=arm, seed=seed,
        energy={"joules": joules}, extras=extras,
        metrics={"val_loss": extras.pop("val")},
    )  # fmt: skip


def test_equal_energy_comparison_and_energy_to_reach():
    gens = [{"overall_measured": v, "real_evals": n} for v, n in ((4.0, 10), (3.5, 20), (3.0, 40))]
    curve = [{"step": s, "val_loss": v} for s, v in ((0, 4.4), (50, 3.2), (100, 2.5))]
    runs = [
        _rec("clso", 0, 40.0, generations=gens, val=3.0),
        _rec("adam", 0, 100.0, curve=curve, curve_units="optimizer steps", val=2.5),
    ]
    (row,) = searchtrace.pairs(runs, {"audit": {0}})["audit"]
    assert row["grad_val_at_search_energy"] == 4.4  # 40 J buys Adam only its step 0
    assert row["search_j_to_grad_val"] is None  # the search never reaches 2.5
    assert row["grad_j_to_search_val"] == 100.0  # Adam passes 3.0 only at its last step
    runs[1].energy = {"joules": 20.0}
    (row,) = searchtrace.pairs(runs, {"audit": {0}})["audit"]
    assert row["grad_val_at_search_energy"] == 2.5 and row["grad_j_to_search_val"] == 20.0
    (summ,) = searchtrace.summarise([row])
    assert summ["diff_at_equal_energy"] == pytest.approx(0.5) and summ["search_reached"] == 0


def test_a_batch_of_empty_lines_scores_zero_not_nan(lines):
    task, splits = lines
    empty = splits.train[(splits.train == task.pad).all(dim=1)][:4]
    x, y = task.targets(empty)
    out = torch.randn(*x.shape, 80, requires_grad=True)
    loss = task.loss(out, y)
    assert loss.item() == 0.0
    loss.backward()  # still part of the graph: the step is a no-op, not a crash


def test_runs_scored_on_other_rows_are_not_compared():
    gens = [{"overall_measured": 3.0, "real_evals": 10}]
    curve = [{"step": 0, "val_loss": 4.0}, {"step": 10, "val_loss": 2.0}]
    s = _rec("clso", 0, 10.0, generations=gens, val=3.0)
    g = _rec("adam", 0, 10.0, curve=curve, curve_units="optimizer steps", val=2.0)
    s.config = {"task": {"seq_len": 128, "eval_rows": 16, "pad_loss": True}}
    g.config = {"task": {"seq_len": 32, "eval_rows": 8, "pad_loss": True}}
    assert searchtrace.pairs([s, g], {"audit": {0}}) == {}


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"genes": ["fc", "lm_head"]}, "task.genes"),
        ({"genes": []}, "task.genes"),
        ({"method": "sgd"}, "task.method"),
        ({"full_eval_frac": 0.0}, "task.full_eval_frac"),
        ({"pop": 1}, "task.pop"),
    ],
)
def test_a_bad_search_config_is_one_line_naming_the_field(kw, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")) as err:
        CLSOTask(vocab_size=80, **kw)
    assert "\n" not in str(err.value)
