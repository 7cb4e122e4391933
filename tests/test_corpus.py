"""The committed corpora load offline, match their recorded hashes and the documented sizes."""

import hashlib
import os
import re
import shutil

import pytest
import torch
from conftest import REPO

from replication.data import corpus

README = (REPO / "data" / "README.md").read_text()


def _readme_int(label: str) -> int:
    """The integer on the README line '- <label>: <n>' (thousands separators allowed)."""
    match = re.search(rf"^- {re.escape(label)}: ([\d,]+)", README, flags=re.MULTILINE)
    assert match, f"no '- {label}: <n>' line in data/README.md"
    return int(match.group(1).replace(",", ""))


@pytest.fixture
def fresh_cache():
    """load_text is cached; clear it around tests that change where the corpus is read from."""
    corpus.load_text.cache_clear()
    yield
    corpus.load_text.cache_clear()


def test_shakespeare_loads_offline_and_matches_readme():
    text = corpus.load_text("shakespeare")
    raw = text.encode("utf-8")
    assert hashlib.sha256(raw).hexdigest() == corpus.SHAKESPEARE_TEXT_SHA256
    assert corpus.SHAKESPEARE_TEXT_SHA256 in README
    assert corpus.SHAKESPEARE_XZ_SHA256 in README
    xz = (corpus.CORPUS_DIR / corpus.SHAKESPEARE_FILE).read_bytes()
    assert hashlib.sha256(xz).hexdigest() == corpus.SHAKESPEARE_XZ_SHA256
    assert len(xz) == _readme_int("compressed size (bytes)") <= 2_000_000
    assert len(raw) == _readme_int("text size (bytes)")
    assert len(text) == _readme_int("characters")
    assert text.count("\n") == _readme_int("lines")
    assert len(set(text)) == _readme_int("vocabulary (distinct characters)")
    assert text.startswith("A Midsummer Night's Dream\n")
    assert not set("*_#\\\r") & set(text)  # markdown marks and CRs were stripped


def _cache_like_files() -> set:
    """Files under the repository (.venv and .git left out) that look like datasets cache output."""
    found = set()
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in (".venv", ".git")]
        for f in files:
            if f.endswith((".arrow", ".lock", ".incomplete")) or f == "dataset_info.json":
                found.add(os.path.join(root, f))
        found.update(os.path.join(root, d) for d in dirs if d in ("downloads", "extracted"))
    return found


def test_no_cache_files_in_repo():
    data_dir = sorted(p.name for p in corpus.CORPUS_DIR.iterdir())
    before = _cache_like_files()
    corpus.load_text.__wrapped__("shakespeare")  # uncached: really goes through datasets
    assert _cache_like_files() == before
    assert sorted(p.name for p in corpus.CORPUS_DIR.iterdir()) == data_dir


@pytest.mark.parametrize(
    ("name", "n_chars", "n_vocab"),
    [("boltzmann_sentences", 51_800, 30), ("mertens_sentences", 67_600, 31)],
)
def test_authors_texts(name, n_chars, n_vocab):
    text = corpus.load_text(name)
    assert len(text) == n_chars
    assert len(set(text)) == n_vocab
    assert text.startswith("Mathematics reveals deep structure. The number six")
    assert text.endswith(".  ")  # the base ends in a space and one more is added per repeat
    assert text == text[: n_chars // 200] * 200


@pytest.mark.parametrize(
    ("name", "like", "n_chars", "end"),
    [
        ("hee12_sentences", "mertens_sentences", 67_400, "inhibition. "),
        ("hen1_sentences", "boltzmann_sentences", 51_600, "efficiently. "),
    ],
)
def test_single_spaced_texts(name, like, n_chars, end):
    """hen1 and H-EE-12 join the sentences with single spaces where the Boltzmann and Mertens
    scripts leave two at each seam. The faithful loss depends on the exact text, so each must
    differ from its twin there only."""
    text = corpus.load_text(name)
    assert len(text) == n_chars and "  " not in text and text.endswith(end)
    assert len(set(text)) == len(set(corpus.load_text(like)))
    assert text.replace(" ", "") == corpus.load_text(like).replace(" ", "")


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match=r"shakespeare.*boltzmann_sentences.*mertens_sentences"):
        corpus.load_text("tiny_shakespeare")


def test_encode_decode_round_trip():
    text = corpus.load_text("mertens_sentences") + "Ünïcödé — ok\n"
    ids, vocab = corpus.encode(text)
    assert ids.dtype == torch.long and ids.dim() == 1 and len(ids) == len(text)
    assert vocab == sorted(set(text))
    assert ids.tolist() == [vocab.index(c) for c in text]
    assert corpus.decode(ids, vocab) == text
    ids, vocab = corpus.encode(corpus.load_text("shakespeare"))
    assert len(vocab) == _readme_int("vocabulary (distinct characters)")
    assert int(ids.max()) == len(vocab) - 1
    assert corpus.decode(ids[:5000], vocab) == corpus.load_text("shakespeare")[:5000]


@pytest.mark.parametrize("n", [0, 1, 19, 20, 1000, 51_800])
def test_split_contiguous(n):
    ids = torch.arange(n)
    train, val, test = corpus.split_contiguous(ids, val_frac=0.05, test_frac=0.05)
    assert (len(val), len(test)) == (int(n * 0.05), int(n * 0.05))
    assert len(train) + len(val) + len(test) == n
    # contiguous and in order: concatenating gives back 0..n-1, so the blocks are disjoint
    assert torch.equal(torch.cat([train, val, test]), ids)


def test_split_shakespeare_sizes():
    ids, _ = corpus.encode(corpus.load_text("shakespeare"))
    train, val, test = corpus.split_contiguous(ids)
    sizes = (len(train), len(val), len(test))
    assert sizes == (
        _readme_int("train (characters)"),
        _readme_int("validation (characters)"),
        _readme_int("test (characters)"),
    )


@pytest.mark.parametrize(("val", "test"), [(-0.1, 0.1), (0.5, 0.5), (0.7, 0.4)])
def test_split_rejects_bad_fractions(val, test):
    with pytest.raises(ValueError):
        corpus.split_contiguous(torch.arange(10), val, test)


def test_corrupted_corpus_raises(tmp_path, monkeypatch, fresh_cache):
    src = corpus.CORPUS_DIR / corpus.SHAKESPEARE_FILE
    bad = tmp_path / corpus.SHAKESPEARE_FILE
    shutil.copyfile(src, bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(corpus, "CORPUS_DIR", tmp_path)
    with pytest.raises(ValueError, match=re.escape(str(bad))) as err:
        corpus.load_text("shakespeare")
    assert corpus.SHAKESPEARE_XZ_SHA256 in str(err.value)
    assert hashlib.sha256(bytes(data)).hexdigest() in str(err.value)


def test_without_datasets_the_standard_library_reads_the_same_text(monkeypatch, fresh_cache):
    """The GPU machine has no `datasets`: lzma reads the same hash-checked text there."""
    import builtins

    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("no datasets here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    text = corpus.load_text("shakespeare")
    assert hashlib.sha256(text.encode()).hexdigest() == corpus.SHAKESPEARE_TEXT_SHA256
