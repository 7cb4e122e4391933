"""The pattern task's stratified held-out sets (the audit's): balanced over every (pattern,
index) cell, their own streams, the same for every arm of a seed, and the training batches of
`heldout` unchanged."""

import numpy as np
import pytest
import torch

from replication.tasks.pattern import PATTERNS, PatternTask


def _cells(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Counts per (pattern, index): the index is the one-hot's position, the pattern the one
    permutation that maps it to y (each (index, target) pair identifies it up to ties)."""
    idx = x.argmax(-1).numpy()
    counts = np.zeros((len(PATTERNS), 32), int)
    for p in range(len(PATTERNS)):
        np.add.at(counts[p], idx, PATTERNS[p][idx] == y.numpy())
    return counts


def test_stratified_heldout_holds_every_pattern_and_index_equally_often():
    task = PatternTask(split="stratified", heldout_batches=200)
    s = task.load(3)
    for x, y in (s.val, s.test):
        assert x.shape == (200 * 64, 32) and x.dtype == torch.float64 and y.shape == (200 * 64,)
        idx = x.argmax(-1)
        assert (x - torch.nn.functional.one_hot(idx, 32)).abs().max() < 0.5  # one-hot + noise
        assert torch.bincount(idx, minlength=32).tolist() == [400] * 32
        # pattern-major: rows [k*3200, (k+1)*3200) are pattern k, each index 100 times
        for p in range(len(PATTERNS)):
            block = slice(p * 3200, (p + 1) * 3200)
            assert torch.equal(y[block], torch.from_numpy(PATTERNS[p][idx[block].numpy()]))
            assert torch.bincount(idx[block], minlength=32).tolist() == [100] * 32
        assert (_cells(x, y) >= 100).all()  # every cell present (ties count for several)


def test_stratified_heldout_is_deterministic_per_seed_and_its_own_stream():
    task = PatternTask(split="stratified", heldout_batches=200)
    a, a2, b = task.load(1), task.load(1), task.load(2)
    for split in ("train", "val", "test"):  # what every arm of seed 1 sees
        assert torch.equal(getattr(a, split)[0], getattr(a2, split)[0])
        assert torch.equal(getattr(a, split)[1], getattr(a2, split)[1])
    assert not torch.equal(a.test[0], b.test[0]) and not torch.equal(a.val[0], b.val[0])
    assert not torch.equal(a.val[0], a.test[0])  # same cells, independent noise
    # no held-out row equals a training row, and the noise streams are distinct
    train_x = a.train[0].reshape(-1, 32)
    for x in (a.val[0], a.test[0]):
        noise_h = (x - torch.nn.functional.one_hot(x.argmax(-1), 32)).flatten()[:4096]
        noise_t = (train_x - torch.nn.functional.one_hot(train_x.argmax(-1), 32)).flatten()
        assert not torch.isin(noise_h, noise_t).any()
    # training batches are those of split=heldout: only the held-out sets change
    h = PatternTask(split="heldout").load(1)
    assert torch.equal(a.train[0], h.train[0]) and torch.equal(a.train[1], h.train[1])


def test_stratified_size_must_fill_every_cell():
    with pytest.raises(ValueError, match="multiple of 128"):
        PatternTask(split="stratified", heldout_batches=3)
    with pytest.raises(ValueError, match="authors, heldout or stratified"):
        PatternTask(split="mixed")


def test_stratified_loss_does_not_depend_on_which_patterns_were_drawn():
    # a model that has learnt one pattern: its held-out loss should be the task's mixture
    # (3/4 of rows wrong except where patterns agree), whatever the seed
    def biased(x: torch.Tensor) -> torch.Tensor:
        target = torch.from_numpy(PATTERNS[0])[x.argmax(-1)]
        return 4.0 * torch.nn.functional.one_hot(target, 32).double()

    def losses(split: str) -> list[float]:
        task = PatternTask(split=split, heldout_batches=200 if split == "stratified" else 50)
        out = []
        for seed in range(6):
            x, y = task.load(seed).test
            out.append(task.evaluate(biased, (x, y))["loss"])
        return out

    strat, drawn = losses("stratified"), losses("heldout")
    assert max(strat) - min(strat) < 1e-12  # exactly the mixture, every seed
    assert max(drawn) - min(drawn) > 0.05  # 50 pattern draws: it moves with the draw
