"""Tasks: the authors' data generators and splits, and held-out variants that stay paired."""

import math

import numpy as np
import pytest
import torch

from replication.tasks.charlm import CharLMTask
from replication.tasks.pattern import PATTERNS, PatternTask, bayes_loss
from replication.tasks.xor import SignXorTask


def test_pattern_bayes_loss_is_the_entropy_of_four_permutations():
    # indices 0 and 16: targets (3/4, 1/4); 8 and 24: (1/2, 1/4, 1/4); the rest: 4 distinct
    h2 = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    h3 = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    expected = (2 * h2 + 2 * h3 + 28 * math.log(4)) / 32
    assert bayes_loss() == pytest.approx(expected)
    assert bayes_loss() == pytest.approx(1.313, abs=5e-4)
    assert list(PATTERNS[1][:4]) == [29, 30, 31, 0]  # a roll by 3: t = (i - 3) mod 32


def test_pattern_authors_corpus_is_fixed_and_cycled():
    task = PatternTask(split="authors")
    a, b = task.load(1), task.load(2)
    assert torch.equal(a.train[0], b.train[0])  # the corpus does not depend on the run seed
    x, _ = a.train
    assert x.shape == (200, 64, 32) and x.dtype == torch.float64
    bx, _ = task.batch(a, 201, 64, None)
    assert torch.equal(bx, x[0])  # step 201 is batch 0 again
    onehot = (x - torch.nn.functional.one_hot(x.argmax(-1), 32)).abs().max()
    assert onehot < 0.5  # a one-hot plus small noise


def test_pattern_heldout_is_paired_by_seed_and_disjoint_streams():
    task = PatternTask(split="heldout")
    s1, s1b, s2 = task.load(1), task.load(1), task.load(2)
    assert torch.equal(s1.train[0], s1b.train[0]) and not torch.equal(s1.train[0], s2.train[0])
    assert not torch.equal(s1.val[0][:64], s1.test[0][:64])
    assert s1.test[0].shape == (50 * 64, 32)


def test_xor_authors_have_no_heldout_data():
    s = SignXorTask(split="authors").load(0)
    assert s.test is s.train and len(s.train[1]) == 200
    x, y = s.train
    assert torch.equal(y[:, 0], ((x[:, 0] > 0) ^ (x[:, 1] > 0)).float())
    assert int(y.sum()) == 104  # protocol-details §3: 104 positives in the authors' draw


def test_xor_heldout_sizes():
    s = SignXorTask(split="heldout", n_test=500).load(3)
    assert len(s.train[1]) == 200 and len(s.test[1]) == 500 and len(s.val[1]) == 500


def test_charlm_windows_and_deterministic_evaluation():
    task = CharLMTask(
        corpus="boltzmann_sentences", vocab_size=30, split="contiguous", eval_windows=8
    )
    splits = task.load(0)
    n = len(splits.train) + len(splits.val) + len(splits.test)
    assert n == 51_800
    x, y = task.batch(splits, 1, 4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 64) and torch.equal(x[:, 1:], y[:, :-1])
    model = torch.nn.Sequential(torch.nn.Embedding(30, 8), torch.nn.Linear(8, 30))
    assert task.evaluate(model, splits.val) == task.evaluate(model, splits.val)


def test_charlm_vocab_size_is_checked():
    with pytest.raises(ValueError, match=r"task\.vocab_size is 31"):
        CharLMTask(corpus="boltzmann_sentences", vocab_size=31).load(0)


def test_charlm_authors_eval_draws_from_the_global_generator():
    task = CharLMTask(
        corpus="mertens_sentences",
        vocab_size=31,
        split="authors",
        authors_eval_batches=2,
        authors_eval_rows=2,
    )
    splits = task.load(0)
    model = torch.nn.Sequential(torch.nn.Embedding(31, 8), torch.nn.Linear(8, 31))
    torch.manual_seed(5)
    a = task.final_metrics(model, splits)
    torch.manual_seed(5)
    assert task.final_metrics(model, splits) == a
    assert np.isfinite(a["authors_eval_loss"])
