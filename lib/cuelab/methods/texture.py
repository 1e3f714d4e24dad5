"""Texture-synthesis distractors: Gram-matrix synthesis on a bank of random multi-scale filters.

DiST's distractors are Gatys-style syntheses of each whole photo (VGG Gram matrices, two seeds), which keep
the parts and scramble their arrangement. VGG weights (and plenoptic's Portilla–Simoncelli model) are not
available offline, so this module matches Gram matrices of *random* convolution filters at several kernel
sizes and image scales (random shallow filters are known to give reasonable textures; Ustyuzhaninov et al.
2017) plus each channel's mean and spread. It is slow (seconds per 64 × 64 image), so it serves a small
demonstration of the artefact leak, not training data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cuelab.params import check_positive, check_positive_int
from cuelab.seeding import generator


class RandomFilterBank(nn.Module):
    """Zero-mean random filters of several sizes, applied at several image scales, each followed by ReLU."""

    def __init__(
        self,
        *,
        kernel_sizes: Sequence[int] = (3, 5, 9),
        filters: int = 48,
        scales: Sequence[int] = (1, 2),
        seed: int = 0,
    ) -> None:
        super().__init__()
        g = generator(seed)
        self.scales = tuple(int(s) for s in scales)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        for s in self.scales:
            for k in self.kernel_sizes:
                w = torch.randn(filters, 3, k, k, generator=g)
                w = w - w.mean(dim=(1, 2, 3), keepdim=True)  # respond to structure, not to overall brightness
                self.register_buffer(f"w_{s}_{k}", w / w.flatten(1).norm(dim=1)[:, None, None, None])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps (batch, filters, h, w), one per (scale, kernel size)."""
        maps = []
        for s in self.scales:
            xs = F.avg_pool2d(x, s) if s > 1 else x
            for k in self.kernel_sizes:
                # Circular padding: the statistics then carry no trace of where the image border is, so
                # syntheses from different seeds do not share a border-driven layout.
                padded = F.pad(xs, (k // 2,) * 4, mode="circular")
                maps.append(F.relu(F.conv2d(padded, getattr(self, f"w_{s}_{k}"))))
        return maps


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix of feature maps (batch, c, h, w) → (batch, c, c), averaged over positions."""
    f = features.flatten(2)
    return f @ f.transpose(1, 2) / f.shape[-1]


def synthesize(
    image: torch.Tensor,
    *,
    seed: int,
    steps: int = 200,
    lr: float = 0.02,
    bank: RandomFilterBank | None = None,
    colour_weight: float = 10.0,
) -> torch.Tensor:
    """A texture with image's Gram statistics, from seeded noise: (3, H, W) in [0, 1] → (3, H, W) in [0, 1]."""
    check_positive_int("steps", steps)
    check_positive("lr", lr)
    bank = bank or RandomFilterBank()
    target = image[None].float()
    with torch.no_grad():
        target_grams = [gram(m) for m in bank(target)]
        scales = [g.pow(2).mean().clamp_min(1e-12) for g in target_grams]  # each layer counts alike
        mean, std = target.mean(dim=(2, 3)), target.std(dim=(2, 3))
    # White-noise start (Gatys et al.); pixels are optimised directly and clipped to [0, 1] after each step
    # (a sigmoid parametrisation saturates on bright or dark photos and Adam then crawls through denormals).
    x = torch.rand(target.shape, generator=generator(seed)).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(((gram(m) - t) ** 2).mean() / s for m, t, s in zip(bank(x), target_grams, scales, strict=True))
        loss = loss + colour_weight * (
            ((x.mean(dim=(2, 3)) - mean) ** 2).sum() + ((x.std(dim=(2, 3)) - std) ** 2).sum()
        )
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    return x.detach()[0]


def synthesis_triplet(
    image: torch.Tensor, *, seeds: tuple[int, int] = (1, 2), steps: int = 200, bank_seed: int = 0
) -> torch.Tensor:
    """(original, synthesis 1, synthesis 2) as DiST builds its items: (3, 3, H, W), the original first."""
    bank = RandomFilterBank(seed=bank_seed)
    return torch.stack([image.float(), *(synthesize(image, seed=s, steps=steps, bank=bank) for s in seeds)])


def _square(array: np.ndarray, size: int) -> torch.Tensor:
    x = torch.from_numpy(np.array(array)).float() / 255.0
    x = x[..., None].repeat(1, 1, 3) if x.dim() == 2 else x[..., :3]
    h, w = x.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[top : top + side, left : left + side].permute(2, 0, 1)[None]
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)


#: The photos package_images can offer (scikit-image's four, scikit-learn's two), when their packages are installed.
PACKAGE_IMAGES: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket", "china", "flower")


def package_images(size: int = 64, names: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """Natural photos that ship inside installed packages (scikit-image data, scikit-learn samples), centre
    cropped and resized to size × size: name → (3, size, size) in [0, 1]. Missing packages are skipped."""
    size = check_positive_int("size", size)
    found: dict[str, torch.Tensor] = {}
    try:
        from skimage import data as skdata

        for name in PACKAGE_IMAGES[:4]:
            found[name] = _square(getattr(skdata, name)(), size)
    except ImportError:
        pass
    try:
        from sklearn.datasets import load_sample_images

        sample = load_sample_images()
        for path, array in zip(sample.filenames, sample.images, strict=True):
            found[path.rsplit("/", 1)[-1].split(".")[0]] = _square(array, size)
    except ImportError:
        pass
    if names is not None:
        missing = [n for n in names if n not in found]
        if missing:
            raise ValueError(f"images {missing} are not available; available: {sorted(found)}")
        found = {n: found[n] for n in names}
    return found
