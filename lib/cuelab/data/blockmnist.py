"""BlockMNIST (Shah, Jain & Netrapalli, NeurIPS 2021) and the simplified version of its theory section.

A BlockMNIST image stacks two 28×28 blocks into 56×28: one block is an MNIST digit (the *signal*),
the other a fixed, class-independent *null* patch, identical in every image, so it carries no
information about the label. position="random" puts the digit on top or at the bottom with
probability ½ each (per image, from the seed); position="top" always puts it on top
(BlockMNIST-Top). The signal-block mask is kept per image so attributions can be scored.

The authors never released BlockMNIST, so this is a re-implementation and its free choices are
parameters: the null patch (kind and intensity; it must be non-zero, since a zero patch gets zero
attribution from gradient×input or zero-baseline Integrated Gradients trivially), the class subset,
and the normalisation (pixels stay in [0, 1], no mean/std standardisation).

The simplified data (theory section; the authors' arXiv-v1 synthetic data is its one-coordinate
case): x ∈ R^(d·b) made of d blocks of b coordinates; the label y = ±1 is uniform; a signal block
j* is uniform over the d blocks and holds y·signal/√b in each coordinate; every other block holds
null_value (0 by default); Gaussian noise of std noise_std may be added everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from cuelab.data.mnist import check_classes
from cuelab.params import ParameterError, check_choice, check_in_interval, check_positive, check_positive_int
from cuelab.seeding import generator

BLOCK = 28
POSITIONS = ("random", "top")
NULL_PATCHES = ("square", "cross", "constant")


def null_patch(kind: str = "square", intensity: float = 1.0, size: int = BLOCK) -> torch.Tensor:
    """The fixed null block (size × size, values in [0, 1]).

    "square": the outline of a centred 16×16 square, 2 px thick; "cross": a centred plus sign,
    16 px long and 2 px thick; "constant": the whole block at `intensity`.
    """
    check_choice("null_patch", kind, NULL_PATCHES)
    intensity = check_in_interval("null_intensity", intensity, 0.0, 1.0, closed_high=True)
    if intensity == 0.0:
        raise ParameterError("null_intensity", intensity, "a number in (0, 1] (a zero patch is trivially unattributed)")
    patch = torch.zeros(size, size)
    lo, hi, t = (size - 16) // 2, (size - 16) // 2 + 16, 2
    if kind == "square":
        patch[lo:hi, lo:hi] = intensity
        patch[lo + t : hi - t, lo + t : hi - t] = 0.0
    elif kind == "cross":
        mid = size // 2
        patch[lo:hi, mid - t // 2 : mid + t // 2 + t % 2] = intensity
        patch[mid - t // 2 : mid + t // 2 + t % 2, lo:hi] = intensity
    else:
        patch[:] = intensity
    return patch


@dataclass(frozen=True)
class BlockMnistSpec:
    """How BlockMNIST images are built: digit position, null patch and class subset."""

    position: str = "random"
    null_patch: str = "square"
    null_intensity: float = 1.0
    classes: tuple[int, ...] = tuple(range(10))

    def __post_init__(self) -> None:
        check_choice("position", self.position, POSITIONS)
        object.__setattr__(self, "classes", check_classes(self.classes))
        null_patch(self.null_patch, self.null_intensity)  # validates kind and intensity

    @property
    def num_classes(self) -> int:
        """Number of classes (labels are 0 … num_classes−1, the index of the digit in `classes`)."""
        return len(self.classes)

    def describe(self) -> str:
        """One line stating every free choice of this re-implementation."""
        pos = "top or bottom at random (p = ½)" if self.position == "random" else "always the top block (BlockMNIST-Top)"
        return (f"BlockMNIST 56×28 (two 28×28 blocks): digit {pos}; null block = fixed '{self.null_patch}' patch "
                f"at intensity {self.null_intensity:g}; classes {list(self.classes)}; pixels in [0, 1], not standardised")


@dataclass(frozen=True)
class BlockMnistSample:
    """Images (N, 1, 56, 28), labels, the original digits, the signal-block mask and where the digit sits."""

    x: torch.Tensor
    y: torch.Tensor
    digit: torch.Tensor
    signal_mask: torch.Tensor  # bool, same shape as x: True on the digit's block
    on_top: torch.Tensor  # bool (N,): digit in the top block

    def __len__(self) -> int:
        return self.x.shape[0]


def make_blockmnist(images: torch.Tensor, labels: torch.Tensor, spec: BlockMnistSpec, seed: int) -> BlockMnistSample:
    """BlockMNIST images from MNIST digits (N, 28, 28) in [0, 1]; digits outside spec.classes are dropped."""
    if images.ndim != 3 or images.shape[1:] != (BLOCK, BLOCK):
        raise ValueError(f"images must have shape (N, 28, 28), got {tuple(images.shape)}")
    keep = torch.isin(labels, torch.tensor(spec.classes))
    images, digits = images[keep].to(torch.float32), labels[keep].long()
    n = len(digits)
    lookup = torch.full((10,), -1, dtype=torch.long)
    lookup[torch.tensor(spec.classes)] = torch.arange(spec.num_classes)
    y = lookup[digits]
    if spec.position == "top":
        on_top = torch.ones(n, dtype=torch.bool)
    else:
        on_top = torch.rand(n, generator=generator(seed)) < 0.5
    patch = null_patch(spec.null_patch, spec.null_intensity).expand(n, BLOCK, BLOCK)
    top = torch.where(on_top[:, None, None], images, patch)
    bottom = torch.where(on_top[:, None, None], patch, images)
    x = torch.cat([top, bottom], dim=1).unsqueeze(1)
    mask = torch.zeros(n, 1, 2 * BLOCK, BLOCK, dtype=torch.bool)
    mask[on_top, :, :BLOCK] = True
    mask[~on_top, :, BLOCK:] = True
    return BlockMnistSample(x=x, y=y, digit=digits, signal_mask=mask, on_top=on_top)


class BlockMnistDataModule(L.LightningDataModule):
    """BlockMNIST train/test sets built from MNIST digits; the test set doubles as validation set."""

    def __init__(
        self,
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        x_test: torch.Tensor,
        y_test: torch.Tensor,
        spec: BlockMnistSpec = BlockMnistSpec(),
        *,
        batch_size: int = 128,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.seed = int(seed)
        # Positions come from different streams of the same seed for train and test.
        self.train = make_blockmnist(x_train, y_train, spec, seed=2 * self.seed)
        self.test = make_blockmnist(x_test, y_test, spec, seed=2 * self.seed + 1)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.train.x, self.train.y), batch_size=self.batch_size, shuffle=True,
                          generator=generator(self.seed))

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.test.x, self.test.y), batch_size=1024)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()


# ---------------------------------------------------------------------------------------------------------------
# The simplified BlockMNIST of the theory section


@dataclass(frozen=True)
class SimplifiedSpec:
    """d blocks of b coordinates; the signal block holds y·signal/√b per coordinate, the others null_value."""

    n_blocks: int = 10
    block_size: int = 1
    signal: float = 1.0
    null_value: float = 0.0
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int("n_blocks", self.n_blocks)
        check_positive_int("block_size", self.block_size)
        check_positive("signal", self.signal)
        if self.n_blocks < 2:
            raise ParameterError("n_blocks", self.n_blocks, "an integer ≥ 2 (one signal block and at least one null block)")
        if self.noise_std < 0:
            raise ParameterError("noise_std", self.noise_std, "a number ≥ 0")

    @property
    def dim(self) -> int:
        """Input dimension d·b."""
        return self.n_blocks * self.block_size


@dataclass(frozen=True)
class SimplifiedSample:
    """Inputs (n, d·b), labels in {0, 1} (class 1 ⇔ y = +1), the signal block j* and its coordinate mask."""

    x: torch.Tensor
    y: torch.Tensor
    signal_block: torch.Tensor
    signal_mask: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]


def sample_simplified(spec: SimplifiedSpec, n: int, seed: int) -> SimplifiedSample:
    """n points of the simplified BlockMNIST, drawn from a generator seeded by seed."""
    n = check_positive_int("n", n)
    g = generator(seed)
    y_pm = torch.randint(0, 2, (n,), generator=g) * 2 - 1
    j = torch.randint(0, spec.n_blocks, (n,), generator=g)
    blocks = torch.full((n, spec.n_blocks, spec.block_size), float(spec.null_value))
    blocks[torch.arange(n), j] = (y_pm.float() * spec.signal / math.sqrt(spec.block_size))[:, None]
    x = blocks.reshape(n, spec.dim)
    if spec.noise_std > 0:
        x = x + spec.noise_std * torch.randn(n, spec.dim, generator=g)
    mask = torch.zeros(n, spec.n_blocks, spec.block_size, dtype=torch.bool)
    mask[torch.arange(n), j] = True
    return SimplifiedSample(x=x, y=(y_pm > 0).long(), signal_block=j, signal_mask=mask.reshape(n, spec.dim))
