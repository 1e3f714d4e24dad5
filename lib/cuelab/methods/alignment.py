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
    return alignment_ratio_from_projections(project_neurons(weight, [mu1, mu2]), neuron_sign)


def alignment_ratio_from_projections(proj: torch.Tensor, neuron_sign: torch.Tensor) -> float:
    """alignment_ratio from the (m, 2) projections ⟨w_j, μ̂1⟩, ⟨w_j, μ̂2⟩ (e.g. tracked by a Gram-space engine)."""
    proj = proj.abs()
    pos, neg = neuron_sign > 0, neuron_sign < 0
    if not pos.any() or not neg.any():
        raise ValueError("alignment_ratio needs neurons of both signs")
    aligned = proj[pos, 0].mean() + proj[neg, 1].mean()
    crossed = proj[pos, 1].mean() + proj[neg, 0].mean()
    return float(aligned / crossed)


def plane_grid(extent: float, resolution: int = 101, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Coordinates (u, v) of a square grid |u|, |v| ≤ extent, each of shape (resolution, resolution)."""
    axis = torch.linspace(-extent, extent, resolution, dtype=dtype)
    return torch.meshgrid(axis, axis, indexing="xy")


def plane_scores(
    model: torch.nn.Module, mu1: torch.Tensor, mu2: torch.Tensor, u: torch.Tensor, v: torch.Tensor, chunk: int = 1024
) -> torch.Tensor:
    """model(u·μ̂1 + v·μ̂2) on a grid, shaped like u; points are built chunk by chunk to bound memory."""
    e1, e2 = unit(mu1), unit(mu2)
    uf, vf = u.reshape(-1), v.reshape(-1)
    out = []
    with torch.no_grad():
        for i in range(0, uf.numel(), chunk):
            points = uf[i : i + chunk, None] * e1 + vf[i : i + chunk, None] * e2
            out.append(model(points).reshape(points.shape[0], -1))
    scores = torch.cat(out)
    return scores.reshape(*u.shape, *scores.shape[1:]) if scores.shape[1] > 1 else scores.reshape(u.shape)


def plane_scores_from_projections(proj: torch.Tensor, a: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """f(u·μ̂1 + v·μ̂2) = Σ_j a_j ReLU(u⟨w_j, μ̂1⟩ + v⟨w_j, μ̂2⟩) on a grid, from the neurons' (m, 2) projections alone.

    For a bias-free two-layer net the plane only sees each neuron through its two projections, so the decision
    regions of Fig. 2 need no p-dimensional weights.
    """
    proj = torch.as_tensor(proj, dtype=u.dtype)
    pre = u.reshape(-1, 1) * proj[:, 0] + v.reshape(-1, 1) * proj[:, 1]
    return (torch.relu(pre) @ torch.as_tensor(a, dtype=u.dtype)).reshape(u.shape)
