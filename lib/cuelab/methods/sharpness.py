"""Flatness of a minimum: the sphere test ΔL(r) and filter-normalised loss slices (Li et al., NeurIPS 2018).

Sphere test (Scimeca et al. 2022): draw a Gaussian direction over *all* parameters, scale it to unit norm, step
a distance r from the trained weights, and record ΔL(r) = L(θ + r·d) − L(θ); average over directions. Flatter
minima have smaller ΔL at the same r. Losses are computed in eval mode (BatchNorm uses its running statistics), as
the authors' sphere test does (src/main_sphere_test.py: its test() calls model.eval()); their validation in main.py
and their 2-D surfaces (main_surf_test.py) run BatchNorm in training mode instead (bn_train_mode=True here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from cuelab.params import ParameterError, check_positive_int
from cuelab.seeding import generator
from cuelab.training import batched

LossFn = Callable[[nn.Module], float]


def dataset_loss(x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 512, bn_train_mode: bool = False) -> LossFn:
    """A loss function of a model: mean cross-entropy on (x, y) in eval mode (bn_train_mode=True: BatchNorm in training
    mode, as the authors' main.py validation and main_surf_test.py)."""

    def loss(model: nn.Module) -> float:
        sums = batched(model, x, y, fn=lambda m, xb, yb: F.cross_entropy(m(xb), yb, reduction="sum").reshape(1),
                       batch_size=batch_size, train_mode=bn_train_mode)
        return sum(sums.tolist(), 0.0) / len(y)  # per-batch sums added in order, as floats

    return loss


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


def random_direction(model: nn.Module, seed: int) -> list[torch.Tensor]:
    """A Gaussian direction over all trainable parameters, scaled to unit norm as one vector."""
    g = generator(seed)
    d = [torch.randn(p.shape, generator=g, dtype=torch.float32).to(p) for p in _params(model)]
    norm = torch.sqrt(sum((t.double() ** 2).sum() for t in d))
    return [t / norm.to(t.dtype) for t in d]


def filter_normalised_direction(model: nn.Module, seed: int) -> list[torch.Tensor]:
    """Li et al.'s direction: Gaussian, each filter (output row) rescaled to the norm of the same filter of θ;
    1-D parameters (biases, norm layers) get 0, as in Li et al."""
    g = generator(seed)
    out = []
    for p in _params(model):
        d = torch.randn(p.shape, generator=g, dtype=torch.float32).to(p)
        if p.dim() <= 1:
            d = torch.zeros_like(p)
        else:
            dn = d.flatten(1).norm(dim=1).clamp_min(1e-12)
            pn = p.detach().flatten(1).norm(dim=1)
            d = (d.flatten(1) * (pn / dn)[:, None]).view_as(p)
        out.append(d)
    return out


@torch.no_grad()
def _shift(model: nn.Module, directions: Sequence[Sequence[torch.Tensor]], coefs: Sequence[float],
           base: Sequence[torch.Tensor]) -> None:
    for i, p in enumerate(_params(model)):
        new = base[i].clone()
        for d, c in zip(directions, coefs):
            new += c * d[i]
        p.copy_(new)


def sphere_test(model: nn.Module, loss_fn: LossFn, radii: Sequence[float], n_directions: int, *, seed: int = 0) -> pd.DataFrame:
    """ΔL(r) per random unit direction and radius: rows (direction, r, loss, delta); weights restored afterwards."""
    check_positive_int("n_directions", n_directions)
    if any(float(r) < 0 for r in radii):
        raise ParameterError("radii", list(radii), "a list of radii ≥ 0")
    base = [p.detach().clone() for p in _params(model)]
    l0 = loss_fn(model)
    rows = []
    try:
        for k in range(n_directions):
            d = random_direction(model, seed * 1_000 + k)
            for r in radii:
                _shift(model, [d], [float(r)], base)
                loss = loss_fn(model)
                rows.append({"direction": k, "r": float(r), "loss": loss, "delta": loss - l0})
    finally:
        _shift(model, [], [], base)
    return pd.DataFrame(rows)


def sphere_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of ΔL over directions per radius."""
    return table.groupby("r")["delta"].agg(["mean", "std"]).reset_index()


def loss_slice_1d(model: nn.Module, loss_fn: LossFn, alphas: Sequence[float], *, seed: int = 0) -> pd.DataFrame:
    """L(θ + α·d) along one filter-normalised direction: rows (alpha, loss)."""
    base = [p.detach().clone() for p in _params(model)]
    d = filter_normalised_direction(model, seed)
    rows = []
    try:
        for a in alphas:
            _shift(model, [d], [float(a)], base)
            rows.append({"alpha": float(a), "loss": loss_fn(model)})
    finally:
        _shift(model, [], [], base)
    return pd.DataFrame(rows)


def loss_surface_2d(model: nn.Module, loss_fn: LossFn, span: float = 1.0, steps: int = 11, *, seed: int = 0) -> pd.DataFrame:
    """L(θ + α·d1 + β·d2) on a steps × steps grid over [−span, span]² of two filter-normalised directions."""
    steps = check_positive_int("steps", steps)
    base = [p.detach().clone() for p in _params(model)]
    d1, d2 = filter_normalised_direction(model, seed), filter_normalised_direction(model, seed + 7_919)
    grid = np.linspace(-span, span, steps)
    rows = []
    try:
        for a in grid:
            for b in grid:
                _shift(model, [d1, d2], [float(a), float(b)], base)
                rows.append({"alpha": float(a), "beta": float(b), "loss": loss_fn(model)})
    finally:
        _shift(model, [], [], base)
    return pd.DataFrame(rows)
