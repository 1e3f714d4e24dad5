"""Procedural shape × texture images: silhouettes in random poses filled with procedural textures.

The offline stand-in for the texture-vs-shape experiments behind DiST (Geirhos et al. 2019; Wen et al. 2023):
eight silhouette classes, eight texture families, two training regimes and a cue-conflict set.

* "texture-correlated": texture family k goes with shape k (with probability `correlation`), so both cues
  predict the label, as shape and texture do in ImageNet photographs.
* "style-randomised": the texture family is drawn independently of the shape, so only the shape predicts the
  label (the role Stylized-ImageNet plays for ImageNet).
* cue-conflict: shape of class a, texture of class b ≠ a; a decision counts for shape if it names a, for
  texture if it names b (Geirhos' shape bias = shape / (shape + texture) decisions).

Every image carries a fixed "gutter" grid: a ring of `gutter` pixels of constant grey inside each
`patch` × `patch` tile. Training and test images all have it, so a tile shuffle (data/dist.py) moves only
whole tiles with their gutters and leaves every colour and |Laplacian| value in place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from cuelab.params import ParameterError, check_choice, check_in_interval, check_positive_int
from cuelab.seeding import generator

SHAPES: tuple[str, ...] = ("disk", "square", "triangle", "cross", "star", "ring", "crescent", "arrow")
TEXTURES: tuple[str, ...] = ("stripes", "checker", "dots", "diagonal", "speckle", "waves", "grid", "blobs")
REGIMES: tuple[str, ...] = ("texture-correlated", "style-randomised")

# Two colours per texture family (RGB in [0, 1]); distinct hues so a texture is easy to read off a tile.
_COLOURS = torch.tensor(
    [
        [[0.85, 0.15, 0.15], [0.98, 0.92, 0.85]],  # stripes: red / cream
        [[0.15, 0.30, 0.85], [0.95, 0.85, 0.20]],  # checker: blue / yellow
        [[0.10, 0.45, 0.15], [0.60, 0.95, 0.45]],  # dots: dark green / light green
        [[0.45, 0.15, 0.60], [0.98, 0.60, 0.15]],  # diagonal: purple / orange
        [[0.60, 0.60, 0.62], [0.25, 0.90, 0.95]],  # speckle: grey / cyan
        [[0.45, 0.25, 0.10], [0.98, 0.65, 0.75]],  # waves: brown / pink
        [[0.20, 0.30, 0.75], [0.92, 0.92, 0.92]],  # grid: blue / white
        [[0.80, 0.10, 0.60], [0.20, 0.75, 0.45]],  # blobs: magenta / green
    ]
)


@dataclass(frozen=True)
class ShapeTexSpec:
    """How images are drawn: size, tile grid and gutter, pose ranges, background."""

    image_size: int = 32
    patch: int = 8  # tile (and ViT patch) side; the tile shuffle of data/dist.py moves these tiles
    gutter: int = 1  # constant ring inside each tile, in pixels (0: no gutter)
    n_classes: int = 8
    scale: tuple[float, float] = (0.62, 0.9)  # silhouette radius as a fraction of half the image side
    shift: float = 0.12  # centre offset, as a fraction of half the image side
    background: float = 0.1  # dark: a linear patch embedding then sees where the (brighter) silhouette is
    gutter_value: float = 0.1
    noise: float = 0.03  # pixel noise on the background (keeps it from being a flat constant)

    def __post_init__(self) -> None:
        check_positive_int("image_size", self.image_size)
        check_positive_int("patch", self.patch)
        if self.image_size % self.patch:
            raise ParameterError("patch", self.patch, f"a divisor of image_size={self.image_size}")
        if not (0 <= self.gutter and 2 * self.gutter < self.patch):
            raise ParameterError(
                "gutter", self.gutter, f"an integer in [0, {(self.patch - 1) // 2}] (a ring inside each tile)"
            )
        if not (2 <= self.n_classes <= len(SHAPES)):
            raise ParameterError("n_classes", self.n_classes, f"an integer in [2, {len(SHAPES)}]")
        check_in_interval("shift", self.shift, 0.0, 0.5)

    @property
    def grid(self) -> int:
        """Tiles per side."""
        return self.image_size // self.patch


def _grid(spec: ShapeTexSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates in [-1, 1] (x to the right, y up)."""
    n = spec.image_size
    c = (torch.arange(n, dtype=torch.float32) + 0.5) / n * 2 - 1
    yy, xx = torch.meshgrid(-c, c, indexing="ij")
    return xx, yy


def shape_masks(shape_ids: torch.Tensor, spec: ShapeTexSpec, g: torch.Generator) -> torch.Tensor:
    """Boolean silhouettes (n, H, W) of the given classes, each in a random pose (rotation, scale, shift)."""
    n = shape_ids.shape[0]
    xx, yy = _grid(spec)
    theta = torch.rand(n, generator=g) * 2 * math.pi
    lo, hi = spec.scale
    radius = lo + (hi - lo) * torch.rand(n, generator=g)
    centre = (torch.rand(n, 2, generator=g) * 2 - 1) * spec.shift
    dx = xx[None] - centre[:, 0, None, None]
    dy = yy[None] - centre[:, 1, None, None]
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    # Rotate the frame, then measure in units of the silhouette's radius.
    u = (cos * dx + sin * dy) / radius[:, None, None]
    v = (-sin * dx + cos * dy) / radius[:, None, None]
    r = torch.sqrt(u**2 + v**2)
    phi = torch.atan2(v, u)
    masks = torch.zeros(n, spec.image_size, spec.image_size, dtype=torch.bool)
    for k, name in enumerate(SHAPES[: spec.n_classes]):
        sel = shape_ids == k
        if not sel.any():
            continue
        uk, vk, rk, pk = u[sel], v[sel], r[sel], phi[sel]
        if name == "disk":
            m = rk < 0.85
        elif name == "square":
            m = torch.maximum(uk.abs(), vk.abs()) < 0.72
        elif name == "triangle":
            # Equilateral: inside three half-planes at inradius 0.55.
            m = torch.ones_like(uk, dtype=torch.bool)
            for j in range(3):
                a = math.pi / 2 + 2 * math.pi * j / 3
                m &= (uk * math.cos(a) + vk * math.sin(a)) > -0.55
        elif name == "cross":
            m = ((uk.abs() < 0.3) & (vk.abs() < 0.95)) | ((vk.abs() < 0.3) & (uk.abs() < 0.95))
        elif name == "star":
            # Five points: the radius limit swings between 0.4 and 1.0 with the angle.
            t = torch.remainder(pk * 5 / (2 * math.pi), 1.0)
            m = rk < 0.4 + 0.6 * (1 - 2 * (t - 0.5).abs())
        elif name == "ring":
            m = (rk < 0.95) & (rk > 0.55)
        elif name == "crescent":
            m = (rk < 0.95) & ((uk - 0.45) ** 2 + vk**2 > 0.75**2)
        elif name == "arrow":
            shaft = (vk.abs() < 0.2) & (uk > -0.95) & (uk < 0.1)
            head = (uk >= 0.0) & (uk < 0.95) & (vk.abs() < 0.8 * (0.95 - uk))
            m = shaft | head
        masks[sel] = m
    return masks


def texture_fields(texture_ids: torch.Tensor, spec: ShapeTexSpec, g: torch.Generator) -> torch.Tensor:
    """Full-frame textures (n, 3, H, W) of the given families, with random phase, frequency and colour jitter."""
    n = texture_ids.shape[0]
    xx, yy = _grid(spec)
    px = spec.image_size / 2  # pixels per unit of the [-1, 1] frame
    phase = torch.rand(n, 2, generator=g)[:, :, None, None] * 2 * math.pi
    freq = (0.9 + 0.3 * torch.rand(n, generator=g))[:, None, None]  # ±15% around each family's period
    x, y = xx[None] * px, yy[None] * px  # in pixels
    pattern = torch.zeros(n, spec.image_size, spec.image_size)
    for k, name in enumerate(TEXTURES):
        sel = texture_ids == k
        if not sel.any():
            continue
        f, ph = freq[sel], phase[sel]
        xs, ys = x.expand(int(sel.sum()), -1, -1), y.expand(int(sel.sum()), -1, -1)
        if name == "stripes":  # horizontal bands, period 4 px
            p = (torch.sin(2 * math.pi * f * ys / 4 + ph[:, 0]) > 0).float()
        elif name == "checker":  # 3 px squares
            p = (
                (torch.sin(math.pi * f * xs / 3 + ph[:, 0]) > 0) ^ (torch.sin(math.pi * f * ys / 3 + ph[:, 1]) > 0)
            ).float()
        elif name == "dots":  # round dots on a 5 px lattice
            p = (
                (torch.cos(2 * math.pi * f * xs / 5 + ph[:, 0]) + torch.cos(2 * math.pi * f * ys / 5 + ph[:, 1])) > 1.0
            ).float()
        elif name == "diagonal":  # 45° bands, period 5 px
            p = (torch.sin(2 * math.pi * f * (xs + ys) / (5 * math.sqrt(2)) + ph[:, 0]) > 0).float()
        elif name == "speckle":  # pixel noise, 30% bright
            p = (torch.rand(xs.shape, generator=g) < 0.3).float()
        elif name == "waves":  # smooth vertical waves, period 6 px
            p = 0.5 + 0.5 * torch.sin(
                2 * math.pi * f * xs / 6 + 1.5 * torch.sin(2 * math.pi * ys / 12 + ph[:, 1]) + ph[:, 0]
            )
        elif name == "grid":  # thin lines every 4 px
            gx = torch.remainder(f * xs + ph[:, 0] * 4 / (2 * math.pi), 4.0) < 1.0
            gy = torch.remainder(f * ys + ph[:, 1] * 4 / (2 * math.pi), 4.0) < 1.0
            p = (gx | gy).float()
        elif name == "blobs":  # low-frequency noise, thresholded
            coarse = torch.rand(xs.shape[0], 1, 5, 5, generator=g)
            smooth = torch.nn.functional.interpolate(coarse, size=xs.shape[-2:], mode="bicubic", align_corners=False)[
                :, 0
            ]
            p = (smooth > 0.5).float()
        pattern[sel] = p
    jitter = 1 + 0.1 * (torch.rand(n, 2, 3, generator=g) * 2 - 1)
    colours = (_COLOURS[texture_ids] * jitter).clamp(0, 1)  # (n, 2, 3)
    c0, c1 = colours[:, 0, :, None, None], colours[:, 1, :, None, None]
    return c0 * (1 - pattern[:, None]) + c1 * pattern[:, None]


def apply_gutters(images: torch.Tensor, patch: int, width: int, value: float) -> torch.Tensor:
    """Set a ring of `width` pixels inside every patch × patch tile to `value` (a copy)."""
    out = images.clone()
    if width <= 0:
        return out
    h, w = out.shape[-2:]
    ring = torch.zeros(h, w, dtype=torch.bool)
    for start in range(0, h, patch):
        ring[start : start + width, :] = True
        ring[start + patch - width : start + patch, :] = True
    for start in range(0, w, patch):
        ring[:, start : start + width] = True
        ring[:, start + patch - width : start + patch] = True
    out[..., ring] = value
    return out


def render(shape_ids: torch.Tensor, texture_ids: torch.Tensor, spec: ShapeTexSpec, g: torch.Generator) -> torch.Tensor:
    """Images (n, 3, H, W) in [0, 1]: silhouette of each shape class filled with its texture, on grey, gutters on."""
    if shape_ids.shape != texture_ids.shape:
        raise ValueError("shape_ids and texture_ids must have the same length")
    masks = shape_masks(shape_ids, spec, g)
    tex = texture_fields(texture_ids, spec, g)
    n, s = shape_ids.shape[0], spec.image_size
    background = spec.background + spec.noise * torch.randn(n, 1, s, s, generator=g)
    images = torch.where(masks[:, None], tex, background.expand(-1, 3, -1, -1))
    return apply_gutters(images.clamp(0, 1), spec.patch, spec.gutter, spec.gutter_value)


@dataclass(frozen=True)
class ShapeTexSample:
    """n images with their label (the shape class), shape class and texture family."""

    x: torch.Tensor
    y: torch.Tensor
    shape: torch.Tensor
    texture: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def dataset(self) -> TensorDataset:
        """(image, label) pairs for a DataLoader."""
        return TensorDataset(self.x, self.y)


def sample_regime(
    n: int, regime: str, seed: int, spec: ShapeTexSpec = ShapeTexSpec(), correlation: float = 1.0
) -> ShapeTexSample:
    """n images of a training regime; the label is the shape class (deterministic in seed)."""
    n = check_positive_int("n", n)
    check_choice("regime", regime, REGIMES)
    check_in_interval("correlation", correlation, 0.0, 1.0, closed_high=True)
    g = generator(seed)
    k = spec.n_classes
    shape = torch.randint(0, k, (n,), generator=g)
    random_texture = torch.randint(0, len(TEXTURES) if regime == "style-randomised" else k, (n,), generator=g)
    if regime == "texture-correlated":
        keep = torch.rand(n, generator=g) < correlation
        texture = torch.where(keep, shape, random_texture)
    else:
        texture = random_texture
    return ShapeTexSample(render(shape, texture, spec, g), shape, shape, texture)


def cue_conflict(n: int, seed: int, spec: ShapeTexSpec = ShapeTexSpec()) -> ShapeTexSample:
    """n cue-conflict images: shape of class a filled with the texture of class b ≠ a (both < n_classes)."""
    n = check_positive_int("n", n)
    g = generator(seed)
    k = spec.n_classes
    shape = torch.randint(0, k, (n,), generator=g)
    texture = (shape + torch.randint(1, k, (n,), generator=g)) % k  # uniform over the other classes
    return ShapeTexSample(render(shape, texture, spec, g), shape, shape, texture)


@dataclass(frozen=True)
class ShapeBias:
    """Geirhos' shape bias on a cue-conflict set and the fractions behind it."""

    shape_bias: float  # shape / (shape + texture) decisions; NaN when there are none
    shape_fraction: float  # decisions naming the shape class, out of all images
    texture_fraction: float  # decisions naming the texture class, out of all images


def shape_bias(pred: torch.Tensor, shape: torch.Tensor, texture: torch.Tensor) -> ShapeBias:
    """Shape bias of predicted classes pred on cue-conflict images with the given shape and texture classes."""
    if (shape == texture).any():
        raise ValueError("cue-conflict images need shape ≠ texture for every image")
    s = float((pred == shape).double().sum())
    t = float((pred == texture).double().sum())
    n = float(pred.numel())
    bias = s / (s + t) if s + t > 0 else float("nan")
    return ShapeBias(bias, s / n, t / n)


class ShapeTexDataModule(L.LightningDataModule):
    """A training regime's images (and a held-out set of the same regime) as a LightningDataModule."""

    def __init__(
        self,
        regime: str,
        n_train: int,
        n_val: int = 500,
        *,
        seed: int = 0,
        spec: ShapeTexSpec = ShapeTexSpec(),
        correlation: float = 1.0,
        batch_size: int = 128,
    ) -> None:
        super().__init__()
        self.regime = check_choice("regime", regime, REGIMES)
        self.batch_size = check_positive_int("batch_size", batch_size)
        # Train and validation draw from disjoint streams of the same seed.
        self.train = sample_regime(n_train, regime, 2 * seed, spec, correlation)
        self.val = sample_regime(n_val, regime, 2 * seed + 1, spec, correlation)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train.dataset(), batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val.dataset(), batch_size=1024)
