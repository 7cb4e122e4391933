"""CLSO's genetic search over library indices, with its surrogate fitness model.

The operators are the source's (src/genetic_optimizer.py, src/train_clso.py), each drawn
from a seeded generator so the same seed gives the same search:

- population of random genomes; each generation keeps the best 10% (elites, copied to the
  front), then fills up with children: two tournament winners (k = 5, lowest fitness wins),
  single-point crossover with probability `crossover`, then per-gene mutation to a uniform
  random index with probability `mutation`;
- `FitnessPredictor`: a 16-dim embedding per library index, concatenated over the genome,
  then 64 -> 32 -> 1 with ReLU; after each generation it takes 50 Adam steps (lr 1e-3, MSE)
  on the real evaluations so far (the last 1000), once there are at least 10;
- which individuals are evaluated for real is the caller's rule (tasks/clso.py).
"""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn


class FitnessPredictor(nn.Module):
    def __init__(self, genes: int, library: int, embed: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(library, embed)
        self.net = nn.Sequential(
            nn.Linear(genes * embed, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1)
        )

    def forward(self, genomes: torch.Tensor) -> torch.Tensor:
        return self.net(self.embed(genomes).flatten(1)).squeeze(1)


class Surrogate:
    """The source's surrogate: trained on (genome, real loss) pairs, predicts the others."""

    HISTORY, MIN_POINTS, STEPS = 1000, 10, 50

    def __init__(self, genes: int, library: int, seed: int, lr: float = 1e-3) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model = FitnessPredictor(genes, library)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.history: list[tuple[list[int], float]] = []

    def update(self, pairs: list[tuple[list[int], float]]) -> None:
        self.history = (self.history + pairs)[-self.HISTORY :]
        if len(self.history) < self.MIN_POINTS:
            return
        x = torch.tensor([g for g, _ in self.history])
        y = torch.tensor([f for _, f in self.history], dtype=torch.float32)
        self.model.train()
        for _ in range(self.STEPS):
            loss = nn.functional.mse_loss(self.model(x), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()

    @torch.no_grad()
    def predict(self, genomes: list[list[int]]) -> list[float]:
        self.model.eval()
        return self.model(torch.tensor(genomes)).tolist()


class GeneticSearch:
    def __init__(
        self,
        pop: int,
        genes: int,
        library: int,
        seed: int,
        mutation: float = 0.08,
        crossover: float = 0.75,
        elite_frac: float = 0.1,
        tournament: int = 5,
    ) -> None:
        self.pop, self.genes, self.library = pop, genes, library
        self.mutation, self.crossover = mutation, crossover
        self.elites, self.k = int(pop * elite_frac), min(tournament, pop)
        seq = np.random.SeedSequence([seed, 0xC150])
        self.np_rng = np.random.default_rng(seq)
        self.rng = random.Random(int(seq.generate_state(1)[0]))
        self.population = [self.random_genome() for _ in range(pop)]

    def random_genome(self) -> list[int]:
        return self.np_rng.integers(0, self.library, self.genes).tolist()

    def evolve(self, fitness: list[float]) -> None:
        order = np.argsort(fitness, kind="stable")
        ranked = [self.population[i] for i in order]
        ranked_fit = [fitness[i] for i in order]
        nxt = [list(g) for g in ranked[: self.elites]]
        while len(nxt) < self.pop:
            a, b = self._select(ranked, ranked_fit), self._select(ranked, ranked_fit)
            child = self._cross(a, b) if self.rng.random() < self.crossover else a
            nxt.append(self._mutate(child))
        self.population = nxt

    def _select(self, ranked: list[list[int]], fit: list[float]) -> list[int]:
        entrants = self.rng.sample(range(len(ranked)), self.k)
        return list(ranked[min(entrants, key=lambda i: fit[i])])

    def _cross(self, a: list[int], b: list[int]) -> list[int]:
        point = self.rng.randint(1, self.genes - 1)
        return a[:point] + b[point:]

    def _mutate(self, g: list[int]) -> list[int]:
        return [
            self.rng.randint(0, self.library - 1) if self.rng.random() < self.mutation else x
            for x in g
        ]

    def neighbours(self, top: int = 10, per: int = 5) -> list[list[int]]:
        """The source's local search: one-gene mutants of the first `top` individuals."""
        out = []
        for g in self.population[:top]:
            for _ in range(per):
                n = list(g)
                n[self.rng.randint(0, self.genes - 1)] = self.rng.randint(0, self.library - 1)
                out.append(n)
        return out
