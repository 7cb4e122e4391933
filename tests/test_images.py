"""Image data (replication/data/images.py) and the image task (replication/tasks/images.py)."""

import gzip
import math

import numpy as np
import pytest
import torch

from replication.data import images
from replication.data.images import load_images
from replication.tasks.images import ImageTask, epoch_order, mean_entropy
from replication.train import Splits

FASHION = images.DATA_DIR / images.FASHION_DIR


def test_mnist5k_is_500_real_digits_per_class_split_400_100():
    data = load_images("mnist5k")
    assert data.info["sha256"] == images.sha256_file(images.DATA_DIR / images.MNIST5K_FILE)
    assert data.info["sha256"] == images.MNIST5K_SHA256
    assert (data.info["n_train"], data.info["n_test"]) == (4000, 1000)
    assert data.train_x.shape == (4000, 784) and data.train_x.dtype == np.uint8
    assert data.test_y.dtype == np.int64
    assert np.bincount(data.train_y).tolist() == [400] * 10
    assert np.bincount(data.test_y).tolist() == [100] * 10
    assert data.train_x.min() == 0 and data.train_x.max() == 255
    rows = {r.tobytes() for r in data.train_x}
    assert not any(r.tobytes() in rows for r in data.test_x)  # no image in both


def test_every_mnist5k_loader_gives_the_same_verified_arrays(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "CACHE_DIR", tmp_path)
    load_images.cache_clear()
    first = load_images("mnist5k")  # no cache yet: datasets parses the CSV, then caches it
    assert first.info["loader"] == "datasets"
    assert list((tmp_path / "images").glob("mnist5k-*.npz"))
    load_images.cache_clear()
    cached = load_images("mnist5k")
    assert cached.info["loader"] == "npz-cache"
    plain = load_images("mnist5k", loader="numpy-csv")
    for a in (cached, plain):
        assert images.digest_arrays(a.arrays()) == images.DECODED_SHA256["mnist5k"]
        assert all(np.array_equal(a.arrays()[k], v) for k, v in first.arrays().items())
    load_images.cache_clear()


def test_a_corrupt_cache_is_never_read(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(images, "has_datasets", lambda: False)  # the GPU machine
    load_images.cache_clear()
    path = images._cache_path("mnist5k", images.MNIST5K_SHA256)
    path.parent.mkdir(parents=True)
    np.savez(path, train_x=np.zeros((3, 784), np.uint8))
    assert load_images("mnist5k").info["loader"] == "numpy-csv"
    with pytest.raises(ValueError, match="corrupt cache"):
        load_images("mnist5k", loader="npz-cache")
    load_images.cache_clear()


@pytest.mark.skipif(not FASHION.is_dir(), reason="data/fashion-mnist/ absent: run `make setup`")
def test_fashion_mnist_is_the_official_split_with_verified_files():
    data = load_images("fashion_mnist")
    assert data.info["loader"] == "numpy-idx"
    assert data.train_x.shape == (60000, 784) and data.test_x.shape == (10000, 784)
    assert np.bincount(data.train_y).tolist() == [6000] * 10
    assert np.bincount(data.test_y).tolist() == [1000] * 10
    for file, sha in images.FASHION_SHA256.items():
        assert images.sha256_file(FASHION / file) == sha


def test_idx_parser_reads_header_dims(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    body = np.arange(24, dtype=np.uint8)
    header = b"\0\0\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (2, 3, 4))
    path.write_bytes(gzip.compress(header + body.tobytes()))
    assert np.array_equal(images.idx_array(path), body.reshape(2, 3, 4))


def test_bad_names_and_missing_files_are_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"unknown image data set 'mnist'; known: mnist5k"):
        load_images("mnist")
    with pytest.raises(ValueError, match=r"task\.dataset must be one of"):
        ImageTask(dataset="cifar10")
    monkeypatch.setattr(images, "DATA_DIR", tmp_path)
    load_images.cache_clear()
    for name, file in (("mnist5k", "mnist_5k.csv.gz"), ("fashion_mnist", "train-images")):
        with pytest.raises(ValueError, match=rf"{file}.*missing; run `make setup`") as err:
            load_images(name)
        assert "\n" not in str(err.value)
    load_images.cache_clear()


def test_task_normalises_and_carves_a_stratified_validation_split():
    task = ImageTask(dataset="mnist5k", val_frac=0.2)
    s = task.load(7)
    assert len(s.train[1]) == 3200 and len(s.val[1]) == 800 and len(s.test[1]) == 1000
    assert torch.bincount(s.val[1]).tolist() == [80] * 10
    assert s.train[0].dtype == torch.float32
    assert float(s.train[0].min()) == pytest.approx((0 - 0.1307) / 0.3081)
    assert float(s.train[0].max()) == pytest.approx((1 - 0.1307) / 0.3081)
    rows = {r.numpy().tobytes() for r in s.train[0]}
    assert not any(r.numpy().tobytes() in rows for r in s.val[0])
    assert torch.equal(task.load(7).val[0], s.val[0])
    assert not torch.equal(task.load(8).val[0], s.val[0])  # the split follows the run seed
    faithful = ImageTask(dataset="mnist5k").load(7)
    assert faithful.val is None and len(faithful.train[1]) == 4000


def _ids(n: int) -> Splits:
    """Rows whose only feature is their own index, to see which rows a batch holds."""
    x = torch.arange(n, dtype=torch.float32)[:, None]
    return Splits(train=(x, torch.zeros(n, dtype=torch.long)), test=(x, x[:, 0].long()))


def test_each_epoch_visits_every_row_once_with_the_last_batch_partial():
    task, splits, bs = ImageTask(), _ids(1000), 128
    per_epoch = task.steps_per_epoch(splits, bs)
    assert per_epoch == math.ceil(1000 / bs) == 8
    gen = torch.Generator().manual_seed(0)
    epochs = []
    for e in range(3):
        batches = [task.batch(splits, e * per_epoch + k + 1, bs, gen)[0] for k in range(per_epoch)]
        assert [len(b) for b in batches] == [128] * 7 + [104]
        rows = torch.cat(batches)[:, 0].long()
        assert sorted(rows.tolist()) == list(range(1000))
        epochs.append(rows)
    assert not torch.equal(epochs[0], epochs[1])  # a fresh permutation each epoch
    with pytest.raises(RuntimeError, match="in order"):
        ImageTask().batch(splits, 5, bs, gen)


def test_shared_mode_draws_batches_as_the_authors_dataloader_does():
    n, bs = 300, 64
    data = torch.utils.data.TensorDataset(torch.arange(n))
    loader = torch.utils.data.DataLoader(data, batch_size=bs, shuffle=True)
    torch.manual_seed(42)
    theirs = [b[0] for _ in range(2) for b in loader]
    after_theirs = torch.rand(1)
    task, splits = ImageTask(), _ids(n)
    torch.manual_seed(42)
    ours = [task.batch(splits, s, bs, None)[0][:, 0].long() for s in range(1, 2 * 5 + 1)]
    assert all(torch.equal(a, b) for a, b in zip(theirs, ours, strict=True))
    assert torch.equal(torch.rand(1), after_theirs)  # the same draws from the global stream
    assert len(epoch_order(5, torch.Generator().manual_seed(0))) == 5


def test_evaluation_reports_the_authors_entropy_in_eval_mode():
    assert mean_entropy(torch.zeros(4, 10)) == pytest.approx(math.log(10))
    assert mean_entropy(torch.tensor([[100.0, 0.0, 0.0]])) == pytest.approx(0.0, abs=1e-6)
    model = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.Dropout(0.5))
    x = _ids(50).test[0]
    split = (x, x[:, 0].long() % 3)
    out = ImageTask().evaluate(model, split)
    assert set(out) == {"loss", "accuracy", "entropy"}
    assert ImageTask().evaluate(model, split) == out  # dropout off: no randomness
    assert model.training  # the mode is restored
