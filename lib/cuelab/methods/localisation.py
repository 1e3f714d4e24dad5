"""How much of an attribution falls where the signal is: BlockMNIST's localisation scores.

Both scores are 0.5 for a random attribution on BlockMNIST (the two blocks have equal size):
  null_mass — the share of Σ|A| that lies outside the signal block (the null block), per image;
  top_share — the share of the top-q fraction of features by |A| that lie inside the signal block.
Rankings break ties at random: a stable sort would hand ties to the first (top) block.
"""

from __future__ import annotations

import torch

from cuelab.params import check_in_interval
from cuelab.seeding import generator


def rank_descending(scores: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """Per row of scores (N, F), the feature indices from largest to smallest, ties in random order."""
    scores = scores.reshape(scores.shape[0], -1)
    # One random permutation per row: shuffle, sort stably, map back.
    perm = torch.argsort(torch.rand(scores.shape, generator=generator(seed)), dim=1)
    order = torch.argsort(scores.gather(1, perm), dim=1, descending=True, stable=True)
    return perm.gather(1, order)


def null_mass(attribution: torch.Tensor, signal_mask: torch.Tensor) -> torch.Tensor:
    """Per example, the share of |A| outside the signal mask (0.5 for random on BlockMNIST)."""
    a = attribution.abs().reshape(attribution.shape[0], -1).double()
    m = signal_mask.reshape(signal_mask.shape[0], -1)
    total = a.sum(1).clamp_min(1e-300)
    return (a * (~m)).sum(1) / total


def top_share(attribution: torch.Tensor, signal_mask: torch.Tensor, fraction: float = 0.1, *, seed: int = 0) -> torch.Tensor:
    """Per example, the share of the top `fraction` of features by |A| that lie in the signal mask."""
    fraction = check_in_interval("fraction", fraction, 0.0, 1.0, closed_high=True)
    m = signal_mask.reshape(signal_mask.shape[0], -1)
    k = max(1, round(fraction * m.shape[1]))
    top = rank_descending(attribution.abs(), seed=seed)[:, :k]
    return m.gather(1, top).double().mean(1)


def top1_in_signal(attribution: torch.Tensor, signal_mask: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """Per example, 1.0 when the single largest |A| feature lies in the signal mask."""
    m = signal_mask.reshape(signal_mask.shape[0], -1)
    top = rank_descending(attribution.abs(), seed=seed)[:, :1]
    return m.gather(1, top).double().flatten()


def bottom1_in_signal(attribution: torch.Tensor, signal_mask: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """Per example, 1.0 when the single smallest |A| feature lies in the signal mask (feature inversion)."""
    m = signal_mask.reshape(signal_mask.shape[0], -1)
    bottom = rank_descending(-attribution.abs(), seed=seed)[:, :1]
    return m.gather(1, bottom).double().flatten()
