"""How first-layer neurons align with given feature directions (Xu et al., Fig. 3 and 4)."""

from __future__ import annotations

import torch


def unit(v: torch.Tensor) -> torch.Tensor:
    """v / ‖v‖."""
    return v / v.norm()


def project_neurons(weight: torch.Tensor, directions: list[torch.Tensor]) -> torch.Tensor:
    """(m, k) matrix of ⟨w_j, d_k/‖d_k‖⟩ for the rows w_j of weight."""
    basis = torch.stack([unit(d.to(weight.dtype)) for d in directions], dim=1)
    return weight @ basis


def alignment_ratio(weight: torch.Tensor, neuron_sign: torch.Tensor, mu1: torch.Tensor, mu2: torch.Tensor) -> float:
    """How much more positive neurons lie along ±μ1 and negative ones along ±μ2 than the reverse.

    (mean_{a_j>0} |⟨w_j, μ̂1⟩| + mean_{a_j<0} |⟨w_j, μ̂2⟩|) / (mean_{a_j>0} |⟨w_j, μ̂2⟩| + mean_{a_j<0} |⟨w_j, μ̂1⟩|):
    about 1 for neurons with no preferred direction, large once features are learned.
    """
    proj = project_neurons(weight, [mu1, mu2]).abs()
    pos, neg = neuron_sign > 0, neuron_sign < 0
    if not pos.any() or not neg.any():
        raise ValueError("alignment_ratio needs neurons of both signs")
    aligned = proj[pos, 0].mean() + proj[neg, 1].mean()
    crossed = proj[pos, 1].mean() + proj[neg, 0].mean()
    return float(aligned / crossed)


def plane_grid(mu1: torch.Tensor, mu2: torch.Tensor, extent: float, resolution: int = 101) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points u·μ̂1 + v·μ̂2 on a square grid |u|, |v| ≤ extent: (u, v, points of shape (r*r, dim))."""
    u = torch.linspace(-extent, extent, resolution, dtype=mu1.dtype)
    uu, vv = torch.meshgrid(u, u, indexing="xy")
    points = uu.reshape(-1, 1) * unit(mu1) + vv.reshape(-1, 1) * unit(mu2)
    return uu, vv, points
