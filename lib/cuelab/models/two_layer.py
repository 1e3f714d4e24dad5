"""The two-layer ReLU network of Xu et al. (ICLR 2024): f(x) = Σ_j a_j ReLU(⟨w_j, x⟩)."""

from __future__ import annotations

import math

import torch
from torch import nn


class TwoLayerReLU(nn.Module):
    """m ReLU neurons without biases; the second layer a_j ∈ {±1/√m} is a fixed buffer.

    First-layer weights start as N(0, init_std² I). The signs a_j are drawn uniformly
    (the paper's choice) from the given generator; `neuron_sign` exposes them.
    """

    def __init__(
        self,
        dim: int,
        width: int,
        init_std: float,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        if dim < 1 or width < 1 or not init_std > 0:
            raise ValueError(f"dim, width must be ≥ 1 and init_std > 0; got {dim=}, {width=}, {init_std=}")
        self.weight = nn.Parameter(torch.randn(width, dim, generator=generator, dtype=dtype) * init_std)
        signs = torch.randint(0, 2, (width,), generator=generator) * 2 - 1
        self.register_buffer("a", signs.to(dtype) / math.sqrt(width))

    @property
    def neuron_sign(self) -> torch.Tensor:
        """+1 for neurons with a_j > 0, −1 otherwise."""
        return torch.sign(self.a).to(torch.int64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.weight.T) @ self.a
