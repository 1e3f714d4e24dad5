"""Accuracy on subsets and agreement between classifiers with ±1 outputs."""

from __future__ import annotations

import math

import torch


def sign_labels(scores: torch.Tensor) -> torch.Tensor:
    """+1 where scores > 0, else −1."""
    return torch.where(scores.reshape(-1) > 0, 1, -1)


def accuracy(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Fraction of pred == target, on mask only if given; NaN on an empty subset."""
    hits = pred == target
    if mask is not None:
        hits = hits[mask]
    return float(hits.double().mean()) if hits.numel() else math.nan


def one_step_linear_direction(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """v = Σ_i y_i x_i: the linear classifier that one GD step from tiny init approximates (Lemma 4.6)."""
    return (y.to(x.dtype).reshape(-1, 1) * x).sum(dim=0)


def sign_agreement(scores_a: torch.Tensor, scores_b: torch.Tensor) -> float:
    """Fraction of points on which two score vectors have the same sign."""
    return accuracy(sign_labels(scores_a), sign_labels(scores_b))
