"""Character-level language modelling on a text corpus (replication/data/corpus.py).

split: contiguous (the audits: train / validation / test are consecutive blocks of the text,
90/5/5) or authors (the authors' scripts: no held-out text; validation and test windows come
from the training text itself). Batches are windows of seq_len characters starting uniformly
at random (with replacement), as the authors sample them; the target is the window shifted by
one. Held-out loss is the mean cross-entropy over `eval_windows` fixed, evenly spaced windows,
so evaluation draws no random numbers.

authors_eval (Mertens' script): after training, 20 further random batches of the training text,
drawn from torch's global generator, in eval mode: metric authors_eval_loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from replication.data.corpus import NAMES, encode, load_text, split_contiguous
from replication.tasks.base import Task
from replication.train import Splits


@dataclass
class CharLMTask(Task):
    corpus: str = "shakespeare"
    vocab_size: int = 0  # checked against the corpus so the model's embedding fits it
    seq_len: int = 64
    split: str = "contiguous"  # contiguous | authors
    val_frac: float = 0.05
    test_frac: float = 0.05
    eval_windows: int = 256
    eval_batch: int = 64
    authors_eval_batches: int = 0  # > 0: the authors' extra random evaluation batches
    authors_eval_rows: int = 16

    def __post_init__(self) -> None:
        if self.corpus not in NAMES:
            raise ValueError(f"task.corpus must be one of {', '.join(NAMES)}, got {self.corpus!r}")
        if self.split not in ("contiguous", "authors"):
            raise ValueError(f"task.split must be contiguous or authors, got {self.split!r}")

    def load(self, seed: int) -> Splits:
        ids, vocab = encode(load_text(self.corpus))
        if len(vocab) != self.vocab_size:
            raise ValueError(
                f"task.vocab_size is {self.vocab_size} but corpus "
                f"'{self.corpus}' has {len(vocab)} symbols"
            )
        if self.split == "authors":
            return Splits(train=ids, val=ids, test=ids)
        train, val, test = split_contiguous(ids, self.val_frac, self.test_frac)
        return Splits(train=train, val=val, test=test)

    def windows(self, ids: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = torch.stack([ids[s : s + self.seq_len] for s in starts.tolist()])
        y = torch.stack([ids[s + 1 : s + self.seq_len + 1] for s in starts.tolist()])
        return x, y

    def batch(
        self, splits: Splits, step: int, batch_size: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        train = splits.train
        starts = torch.randint(0, len(train) - self.seq_len - 1, (batch_size,), generator=generator)
        return self.windows(train, starts)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: torch.Tensor) -> dict:
        last = len(split) - self.seq_len - 1
        starts = torch.linspace(0, last, min(self.eval_windows, last + 1)).long()
        was = model.training
        model.eval()
        total = 0.0
        for chunk in starts.split(self.eval_batch):
            x, y = self.windows(split, chunk)
            total += float(self.loss(model(x), y)) * len(chunk)
        model.train(was)
        loss = total / len(starts)
        return {"loss": loss, "bpc": loss / math.log(2)}

    @torch.no_grad()
    def final_metrics(self, model: torch.nn.Module, splits: Splits) -> dict:
        if not self.authors_eval_batches:
            return {}
        was = model.training
        model.eval()
        losses = [
            float(self.loss(model(x), y))
            for x, y in (
                self.batch(splits, 0, self.authors_eval_rows, None)
                for _ in range(self.authors_eval_batches)
            )
        ]
        model.train(was)
        return {"authors_eval_loss": sum(losses) / len(losses)}

    def diagnostic_input(self, splits: Splits) -> torch.Tensor:
        starts = torch.linspace(0, len(splits.test) - self.seq_len - 1, 16).long()
        return self.windows(splits.test, starts)[0]
