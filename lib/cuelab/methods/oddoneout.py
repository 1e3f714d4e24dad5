"""DiST odd-one-out scoring as the authors' eval.py does it, tie policies, model-free controls, bootstrap CIs.

eval.py, for each triplet (original, set1, set2): the model's output with the head removed, flattened;
each vector z-scored (mean 0, population std 1); pairwise cosine distances; each image's score is its mean
distance to the other two; the argmax is "the odd one"; correct iff it is the original (index 0).
Two quirks of that rule matter for what a number means:

* `np.argmax` returns the first maximum, so exact ties go to the original and count as correct; a
  constant feature vector z-scores to NaN, and `np.argmax` returns the first NaN, again the original.
  `tie_policy="first"` keeps this ("the paper's rule"); "fractional" gives each tied image 1/k of the credit
  (a tie is worth chance, 1/3); "random" picks one of the tied images with a seeded generator.
* The rule is the closest-pair rule: image i has the largest mean distance iff the other two are the
  closest pair (score_0 − score_1 = (d02 − d12)/2), so "odd one" = the image left out of the closest pair.

Controls need no model: a joint colour histogram, a histogram of |Laplacian| (sharpness), and an 8 × 8
pixel-layout vector are scored by the same rule. The first two are blind to where anything is, so any
score above 1/3 they reach comes from artefacts the distractors share, not from global shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cuelab.params import check_choice, check_in_interval, check_positive_int
from cuelab.training import batched

TIE_POLICIES: tuple[str, ...] = ("first", "fractional", "random")
CONTROLS: tuple[str, ...] = ("colour histogram", "|Laplacian| histogram", "8×8 pixel layout")
CHANCE = 1 / 3


def zscore(features: np.ndarray) -> np.ndarray:
    """Each vector (last axis) minus its mean, over its population std; constant vectors become NaN, as in eval.py."""
    f = np.asarray(features, dtype=np.float64)
    mean = f.mean(axis=-1, keepdims=True)
    std = f.std(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (f - mean) / std


def cosine_distances(features: np.ndarray) -> np.ndarray:
    """Pairwise cosine distances 1 − u·v / (‖u‖‖v‖) within each triplet: (n, 3, d) → (n, 3, 3)."""
    f = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(f, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.einsum("nid,njd->nij", f, f) / (norms[:, :, None] * norms[:, None, :])
    d = 1.0 - cos
    idx = np.arange(f.shape[1])
    d[:, idx, idx] = 0.0  # eval.py never computes the diagonal
    return d


def oddity_scores(features: np.ndarray | torch.Tensor) -> np.ndarray:
    """eval.py's per-image score: z-score, cosine distance, mean distance to the other two. (n, 3, d) → (n, 3)."""
    f = (
        features.detach().cpu().double().numpy()
        if isinstance(features, torch.Tensor)
        else np.asarray(features, np.float64)
    )
    if f.ndim != 3 or f.shape[1] != 3:
        raise ValueError(f"features must have shape (triplets, 3, dim), got {f.shape}")
    d = cosine_distances(zscore(f.reshape(f.shape[0], 3, -1)))
    return d.sum(axis=2) / 2.0  # the diagonal is 0, so the row sum over 2 is the mean over the other two


def credit(
    scores: np.ndarray,
    tie_policy: str = "first",
    *,
    tie_tol: float = 1e-9,
    seed: int = 0,
) -> np.ndarray:
    """Credit per triplet for finding the original (index 0): 1 or 0, or a fraction for ties under "fractional".

    Scores within `tie_tol` of the row's maximum are tied (features that differ only by float rounding give
    scores ~1e-14 apart). Rows with NaN (a constant feature vector) follow np.argmax under "first" (the first
    NaN, i.e. the original) and are a three-way tie under the other policies.
    """
    check_choice("tie_policy", tie_policy, TIE_POLICIES)
    check_in_interval("tie_tol", tie_tol, 0.0, 1.0)
    s = np.asarray(scores, dtype=np.float64)
    nan_row = np.isnan(s).any(axis=1)
    top = np.nanmax(np.where(nan_row[:, None], 0.0, s), axis=1, keepdims=True)
    tied = (s >= top - tie_tol) & ~nan_row[:, None]
    tied[nan_row] = True
    if tie_policy == "first":
        first_nan = np.argmax(np.isnan(s), axis=1)  # np.argmax's answer on a row holding NaN
        winner = np.where(nan_row, first_nan, np.argmax(tied, axis=1))
        return (winner == 0).astype(np.float64)
    if tie_policy == "fractional":
        return tied[:, 0] / tied.sum(axis=1)
    rng = np.random.default_rng(seed)
    pick = np.array([rng.choice(np.flatnonzero(row)) for row in tied])
    return (pick == 0).astype(np.float64)


def closest_pair_odd(features: np.ndarray | torch.Tensor) -> np.ndarray:
    """The image left out of the closest pair (same distances as eval.py): the rule eval.py's argmax amounts to."""
    f = (
        features.detach().cpu().double().numpy()
        if isinstance(features, torch.Tensor)
        else np.asarray(features, np.float64)
    )
    d = cosine_distances(zscore(f.reshape(f.shape[0], 3, -1)))
    pairs = np.stack([d[:, 1, 2], d[:, 0, 2], d[:, 0, 1]], axis=1)  # the pair that leaves out image 0, 1, 2
    return np.argmin(pairs, axis=1)


@dataclass(frozen=True)
class DistScore:
    """DiST accuracy with its bootstrap interval and the per-triplet credits behind it."""

    accuracy: float
    ci_low: float
    ci_high: float
    n: int
    tie_policy: str
    ties: int  # triplets whose top score was shared
    credits: np.ndarray

    def as_dict(self) -> dict[str, float | int | str]:
        """The summary without the per-triplet credits."""
        return {
            "accuracy": self.accuracy,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "tie_policy": self.tie_policy,
            "ties": self.ties,
        }


def bootstrap_ci(values: np.ndarray, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of values (resampling triplets)."""
    v = np.asarray(values, dtype=np.float64)
    check_positive_int("n_boot", n_boot)
    check_in_interval("level", level, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def score_features(
    features: np.ndarray | torch.Tensor,
    tie_policy: str = "first",
    *,
    tie_tol: float = 1e-9,
    n_boot: int = 2000,
    seed: int = 0,
) -> DistScore:
    """DiST accuracy of triplet features (n, 3, d), original at index 0, with a bootstrap interval."""
    scores = oddity_scores(features)
    c = credit(scores, tie_policy, tie_tol=tie_tol, seed=seed)
    nan_row = np.isnan(scores).any(axis=1)
    top = np.nanmax(np.where(nan_row[:, None], 0.0, scores), axis=1, keepdims=True)
    ties = int((((scores >= top - tie_tol).sum(axis=1) > 1) | nan_row).sum())
    low, high = bootstrap_ci(c, n_boot=n_boot, seed=seed)
    return DistScore(float(c.mean()), low, high, int(c.size), tie_policy, ties, c)


# --------------------------------------------------------------------------- model-free controls


def colour_histogram(images: torch.Tensor, bins: int = 8) -> torch.Tensor:
    """Joint RGB histogram with bins³ cells, normalised: (..., 3, H, W) in [0, 1] → (..., bins³)."""
    lead = images.shape[:-3]
    x = images.reshape(-1, *images.shape[-3:])
    q = (x.clamp(0, 1) * bins).long().clamp_max(bins - 1)
    cell = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]
    hist = torch.zeros(x.shape[0], bins**3, dtype=torch.float64)
    hist.scatter_add_(
        1, cell.reshape(x.shape[0], -1), torch.ones(cell.reshape(x.shape[0], -1).shape, dtype=torch.float64)
    )
    return (hist / cell[0].numel()).reshape(*lead, bins**3)


def laplacian_magnitude(images: torch.Tensor) -> torch.Tensor:
    """|Laplacian| (5-point stencil, edges replicated) of the channel-mean image: (..., 3, H, W) → (..., H, W)."""
    lead = images.shape[:-3]
    grey = images.reshape(-1, *images.shape[-3:]).double().mean(dim=1, keepdim=True)
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)[None, None]
    lap = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernel)
    return lap.abs().reshape(*lead, *images.shape[-2:])


def laplacian_histogram(images: torch.Tensor, bins: int = 32, max_value: float = 0.5) -> torch.Tensor:
    """Histogram of |Laplacian| on [0, max_value] (larger values in the last bin), normalised: (..., bins)."""
    lap = laplacian_magnitude(images)
    lead = lap.shape[:-2]
    flat = lap.reshape(-1, lap.shape[-2] * lap.shape[-1])
    q = (flat / max_value * bins).long().clamp(0, bins - 1)
    hist = torch.zeros(flat.shape[0], bins, dtype=torch.float64)
    hist.scatter_add_(1, q, torch.ones(q.shape, dtype=torch.float64))
    return (hist / flat.shape[1]).reshape(*lead, bins)


def pixel_layout(images: torch.Tensor, size: int = 8) -> torch.Tensor:
    """The image averaged down to size × size RGB, flattened: (..., 3, H, W) → (..., 3·size²)."""
    lead = images.shape[:-3]
    small = F.adaptive_avg_pool2d(images.reshape(-1, *images.shape[-3:]).double(), size)
    return small.reshape(*lead, -1)


CONTROL_FEATURES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "colour histogram": colour_histogram,
    "|Laplacian| histogram": laplacian_histogram,
    "8×8 pixel layout": pixel_layout,
}


def control_features(triplets: torch.Tensor, controls: Iterable[str] = CONTROLS) -> dict[str, torch.Tensor]:
    """Each control's features of triplet images (n, 3, 3, H, W) in [0, 1]: name → (n, 3, d)."""
    return {name: CONTROL_FEATURES[check_choice("control", name, CONTROLS)](triplets) for name in controls}


def score_controls(
    triplets: torch.Tensor,
    tie_policy: str = "first",
    *,
    controls: Iterable[str] = CONTROLS,
    tie_tol: float = 1e-9,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, DistScore]:
    """DiST accuracy of each model-free control on triplet images (n, 3, 3, H, W) in [0, 1]."""
    feats = control_features(triplets, controls)
    return {name: score_features(f, tie_policy, tie_tol=tie_tol, n_boot=n_boot, seed=seed) for name, f in feats.items()}


@torch.no_grad()
def model_features(
    model: torch.nn.Module, triplets: torch.Tensor, *, batch_size: int = 256, features: str = "features"
) -> torch.Tensor:
    """A model's features of triplet images (n, 3, C, H, W) → (n, 3, d), in eval mode on the model's device.

    features="features" calls model.features (the head removed); "output" calls the model itself.
    """
    check_choice("features", features, ("features", "output"))
    flat = triplets.reshape(-1, *triplets.shape[2:])
    fn = (lambda m, xb: m.features(xb).flatten(1)) if features == "features" else (lambda m, xb: m(xb).flatten(1))
    return batched(model, flat, fn=fn, batch_size=batch_size).reshape(triplets.shape[0], 3, -1)
