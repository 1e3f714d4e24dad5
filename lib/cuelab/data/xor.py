"""XOR cluster data with flipped labels (Xu et al., ICLR 2024, Def. 2.1).

Clean label +1: x ~ ½N(+μ1, I) + ½N(−μ1, I); clean label −1: x ~ ½N(+μ2, I) + ½N(−μ2, I),
with μ1 ⊥ μ2 and ‖μ1‖ = ‖μ2‖. The observed label is the clean one flipped with
probability η. No linear classifier beats chance on this distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from cuelab.params import check_noise_rate, check_positive, check_positive_int
from cuelab.seeding import generator

#: cluster index → (mean direction, sign): 0: +μ1, 1: −μ1, 2: +μ2, 3: −μ2
CLUSTER_NAMES = ("+μ1", "−μ1", "+μ2", "−μ2")


@dataclass(frozen=True)
class XorSpec:
    """The distribution: dimension, mean norm, label-flip rate."""

    dim: int = 10_000
    mu_norm: float = 2.5 * math.sqrt(10_000 / 200)
    noise_rate: float = 0.1

    def __post_init__(self) -> None:
        check_positive_int("dim", self.dim)
        check_positive("mu_norm", self.mu_norm)
        check_noise_rate("noise_rate", self.noise_rate)
        if self.dim < 2:
            raise ValueError(f"dim={self.dim} is not accepted: dim must be ≥ 2 (μ1 ⊥ μ2 need two axes).")

    @classmethod
    def from_snr(cls, dim: int, n_train: int, snr: float, noise_rate: float) -> "XorSpec":
        """The paper's parametrisation ‖μ‖ = snr · √(dim / n_train)."""
        dim, n_train = check_positive_int("dim", dim), check_positive_int("n_train", n_train)
        return cls(dim=dim, mu_norm=check_positive("snr", snr) * math.sqrt(dim / n_train), noise_rate=noise_rate)

    def means(self, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        """μ1 = ‖μ‖·e1 and μ2 = ‖μ‖·e2 (the noise is isotropic, so the axes lose no generality)."""
        mu1 = torch.zeros(self.dim, dtype=dtype)
        mu2 = torch.zeros(self.dim, dtype=dtype)
        mu1[0] = self.mu_norm
        mu2[1] = self.mu_norm
        return mu1, mu2


@dataclass(frozen=True)
class XorSample:
    """n points: inputs, observed (noisy) labels, clean labels, cluster ids, flipped mask."""

    x: torch.Tensor
    y: torch.Tensor
    y_clean: torch.Tensor
    cluster: torch.Tensor
    flipped: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass(frozen=True)
class XorDraw:
    """The random parts of a sample, apart from the distribution's scales: cluster ids, unit-variance noise
    (n, dim) and the uniforms that decide label flips. x = ‖μ‖·centre(cluster) + noise; flipped = uniform < η."""

    cluster: torch.Tensor
    noise: torch.Tensor
    uniform: torch.Tensor


def draw_xor(dim: int, n: int, seed: int, dtype: torch.dtype = torch.float64) -> XorDraw:
    """The draws of sample_xor(spec, n, seed) for any spec of this dim (same generator, same order)."""
    g = generator(seed)
    cluster = torch.randint(0, 4, (n,), generator=g)
    noise = torch.randn(n, dim, generator=g, dtype=dtype)
    uniform = torch.rand(n, generator=g, dtype=torch.float64)
    return XorDraw(cluster, noise, uniform)


def cluster_axis_and_sign(cluster: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each cluster id: the axis of its centre (0 for ±μ1, 1 for ±μ2) and its sign (+1 or −1)."""
    return (cluster >= 2).to(torch.int64), 1 - 2 * (cluster % 2)


def sample_xor(spec: XorSpec, n: int, seed: int, dtype: torch.dtype = torch.float64) -> XorSample:
    """Draw n points of spec with a generator seeded by seed (independent of global RNG state)."""
    n = check_positive_int("n", n)
    d = draw_xor(spec.dim, n, seed, dtype)
    mu1, mu2 = spec.means(dtype)
    centres = torch.stack([mu1, -mu1, mu2, -mu2])
    x = centres[d.cluster] + d.noise
    y_clean = torch.where(d.cluster < 2, 1, -1)
    flipped = d.uniform < spec.noise_rate
    y = torch.where(flipped, -y_clean, y_clean)
    return XorSample(x=x, y=y, y_clean=y_clean, cluster=d.cluster, flipped=flipped)


class XorDataModule(L.LightningDataModule):
    """Full-batch XOR cluster data: one batch is the whole (noisy) training set."""

    def __init__(self, spec: XorSpec, n_train: int = 200, n_test: int = 500, seed: int = 0) -> None:
        super().__init__()
        self.spec = spec
        self.n_train = check_positive_int("n_train", n_train)
        self.n_test = check_positive_int("n_test", n_test)
        self.seed = int(seed)
        # Train and test come from different streams of the same seed.
        self.train = sample_xor(spec, self.n_train, seed=2 * self.seed)
        self.test = sample_xor(spec, self.n_test, seed=2 * self.seed + 1)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.train.x, self.train.y), batch_size=self.n_train, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.test.x, self.test.y_clean), batch_size=self.n_test, shuffle=False)
