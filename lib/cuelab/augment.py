"""Batched data augmentation on image tensors (N, C, H, W), drawn from torch's global generator.

"crop": a random crop back to the original size after zero-padding 4 pixels on every side; "crop-flip": the
same, then a horizontal flip with probability ½ (the usual CIFAR-10 recipe, also the robustness library's core).
The global generator is seeded by cuelab.training.fit, so runs repeat.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cuelab.params import check_choice

AUGMENTS = ("none", "crop", "crop-flip")
PAD = 4


def augment(x: torch.Tensor, kind: str = "none") -> torch.Tensor:
    """x augmented per example as kind says ("none" returns x itself)."""
    check_choice("augment", kind, AUGMENTS)
    if kind == "none":
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (PAD, PAD, PAD, PAD))
    dy = torch.randint(0, 2 * PAD + 1, (n,)).to(x.device)
    dx = torch.randint(0, 2 * PAD + 1, (n,)).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None, :])  # (n, h)
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None, :])  # (n, w)
    idx_n = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if kind == "crop-flip":
        flip = (torch.rand(n) < 0.5).to(x.device)
        out = torch.where(flip[:, None, None, None], out.flip(-1), out)
    return out.contiguous()
