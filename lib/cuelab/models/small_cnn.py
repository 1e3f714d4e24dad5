"""A small convolutional classifier with global average pooling."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class SmallCNN(nn.Module):
    """Conv(3×3) → [BatchNorm] → ReLU blocks, stride 2 after the first, then global average pooling and a linear head.

    Global pooling makes the features blind to *where* in the image a pattern sits once the
    receptive field is covered, which is the property the shortcut-cue and global-shape studies
    lean on. `features(x)` is the pooled vector (the head removed).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        widths: Sequence[int] = (32, 64, 128, 128),
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        if not widths:
            raise ValueError("widths needs at least one convolution width")
        layers: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers.append(nn.Conv2d(c, int(w), kernel_size=3, stride=stride, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(int(w)))
            layers.append(nn.ReLU())
            c = int(w)
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(c, num_classes)
        self.feature_dim = c

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The globally pooled feature vector."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
