"""A bag-of-local-features CNN (BagNet-style): every feature sees at most a small window of the image.

Stride-1 3×3 convolutions, as many as fit the window (k layers see 2k + 1 pixels), then 1×1 convolutions and
an average over all positions. The pooled features, and so the logits, are a mean of local evidence: the model
cannot relate one window to another. Used by the global-shape study as a local-cue control: on a tile-shuffled
image only the windows that straddle a seam change, so whatever DiST it reaches comes from local cues (seams,
cut edges), not from the global arrangement.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class LocalBagCNN(nn.Module):
    """Local features within a receptive field of at most `max_receptive_field` pixels, averaged over positions."""

    def __init__(self, in_channels: int, num_classes: int, *, max_receptive_field: int = 7,
                 widths: Sequence[int] = (8, 16, 16), pointwise: int = 32, pad_value: float | None = None) -> None:
        super().__init__()
        # pad_value=None: each 3×3 convolution zero-pads by one pixel (a window at the image border sees zeros).
        # pad_value=v: the input is padded once by receptive_field − 1 pixels of the constant v and the convolutions
        # are "valid": every window lies in the image embedded in a plane of v, so no window can tell the image
        # border from a constant band of v (the tile gutters of data/shapetex.py), and every window that overlaps
        # the image is in the bag.
        if max_receptive_field < 3:
            raise ValueError(f"max_receptive_field={max_receptive_field!r} is not accepted: it must be an integer ≥ 3.")
        n3 = (int(max_receptive_field) - 1) // 2  # k stride-1 3×3 convolutions see 2k + 1 pixels
        widths = list(widths)[:n3] + [list(widths)[-1]] * max(0, n3 - len(widths))
        layers: list[nn.Module] = []
        c = in_channels
        for w in widths:
            layers += [nn.Conv2d(c, int(w), 3, padding=0 if pad_value is not None else 1, bias=False),
                       nn.BatchNorm2d(int(w)), nn.ReLU()]
            c = int(w)
        layers += [nn.Conv2d(c, pointwise, 1, bias=False), nn.BatchNorm2d(pointwise), nn.ReLU()]
        self.receptive_field = 2 * n3 + 1
        self.pad_value = pad_value
        self.local = nn.Sequential(*layers)
        self.head = nn.Linear(pointwise, num_classes)
        self.feature_dim = pointwise

    def local_features(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, pointwise, H', W'): the feature of each window (H' = H with zero padding; H + rf − 1 with pad_value)."""
        if self.pad_value is not None:
            p = self.receptive_field - 1
            x = nn.functional.pad(x, (p, p, p, p), value=float(self.pad_value))
        return self.local(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of the local features over all positions."""
        return self.local_features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
