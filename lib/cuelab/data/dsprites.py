"""Colour-dSprites: the dSprites factor grid rendered on demand (or read from the official .npz), coloured R/G/B.

The grid is the one of Matthey et al. (2017): shape {square, ellipse, heart}, scale linspace(0.5, 1, 6),
orientation linspace(0, 2π, 40) (endpoint excluded, as 0 and 2π are the same pose), x and y linspace(0, 1, 32).
Scimeca et al. (ICLR 2022) add a colour factor: the binary sprite multiplies one of the R, G, B channels, so the
sprite is red, green or blue on black. Images are float32 in [0, 1], channels first, never normalised.

Only the images a study needs are rendered (a factor table lists all 3 × 737,280 combinations; images come from
`DSpritesSource.images(rows)`), and each rendered set is cached under data/dsprites/ keyed by its configuration.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from cuelab.io import cached
from cuelab.params import ParameterError, check_positive_int
from cuelab.paths import data_dir

SHAPES = ("square", "ellipse", "heart")
COLORS = ("red", "green", "blue")
# Factor sizes in the order of the factor table (colour first, then the official latents order).
FACTORS = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")
SIZES = (3, 3, 6, 40, 32, 32)
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40, endpoint=False)
POSITIONS = np.linspace(0.0, 1.0, 32)
KINDS = {"color": "categorical", "shape": "categorical", "scale": "ordinal", "orientation": "ordinal",
         "pos_x": "ordinal", "pos_y": "ordinal"}
# Geometry of the renderer (fractions of the image side): a scale-1 sprite has radius 0.15, and sprite centres stay
# 0.17 from the border so that no pose is clipped (a rotated square's corner reaches 0.8·√2·0.15 ≈ 0.17).
RADIUS = 0.15
MARGIN = 0.17
RENDER_VERSION = 1  # bump when the geometry changes: it is part of every cache key


def factor_table() -> pd.DataFrame:
    """All 2,211,840 factor combinations (3 colours × 737,280 dSprites latents) as int8/int16 level indices."""
    idx = np.indices(SIZES, dtype=np.int16).reshape(len(SIZES), -1)
    return pd.DataFrame({name: idx[i].astype(np.int8) for i, name in enumerate(FACTORS)})


def official_row(factors: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Row of the official dsprites .npz for each combination (the npz orders latents with pos_y fastest)."""
    f = factors[list(FACTORS[1:])].to_numpy(np.int64) if isinstance(factors, pd.DataFrame) else np.asarray(factors, np.int64)[:, 1:]
    row = np.zeros(len(f), np.int64)
    for col, size in zip(f.T, SIZES[1:]):
        row = row * size + col
    return row


def render_masks(shape: np.ndarray, scale: np.ndarray, orientation: np.ndarray, pos_x: np.ndarray, pos_y: np.ndarray,
                 resolution: int) -> np.ndarray:
    """Binary sprites (n, resolution, resolution) uint8 from factor level indices, vectorised over n.

    A pixel is on when its centre, mapped into the sprite's own frame (shifted to the sprite centre, rotated by
    −orientation, divided by the scaled radius), lies inside the canonical shape.
    """
    res = check_positive_int("resolution", resolution)
    shape = np.asarray(shape, np.int64)
    s = SCALES[np.asarray(scale, np.int64)] * RADIUS
    th = ORIENTATIONS[np.asarray(orientation, np.int64)]
    cx = MARGIN + POSITIONS[np.asarray(pos_x, np.int64)] * (1 - 2 * MARGIN)
    cy = MARGIN + POSITIONS[np.asarray(pos_y, np.int64)] * (1 - 2 * MARGIN)
    grid = (np.arange(res, dtype=np.float32) + 0.5) / res
    dx = (grid[None, None, :] - cx[:, None, None].astype(np.float32)) / s[:, None, None].astype(np.float32)
    dy = (grid[None, :, None] - cy[:, None, None].astype(np.float32)) / s[:, None, None].astype(np.float32)
    c, sn = np.cos(th)[:, None, None].astype(np.float32), np.sin(th)[:, None, None].astype(np.float32)
    u = c * dx + sn * dy      # rotate the pixel by −θ into the sprite frame
    v = -sn * dx + c * dy
    square = np.maximum(np.abs(u), np.abs(v)) <= 0.8
    ellipse = u**2 + (v / 0.5) ** 2 <= 1.0
    a, b = u * 1.15, -v * 1.15 + 0.1   # heart curve (a² + b² − 1)³ ≤ a² b³, tip pointing down, centred
    heart = (a**2 + b**2 - 1) ** 3 - a**2 * b**3 <= 0
    which = shape[:, None, None]
    mask = np.where(which == 0, square, np.where(which == 1, ellipse, heart))
    return mask.astype(np.uint8)


def colourise(masks: torch.Tensor, color: torch.Tensor) -> torch.Tensor:
    """(n, H, W) sprites in [0, 1] → (n, 3, H, W): the sprite multiplies channel `color` (0 R, 1 G, 2 B), on black."""
    onehot = F.one_hot(color.long(), 3).to(masks.dtype)  # (n, 3)
    return masks[:, None] * onehot[:, :, None, None]


def _load_masks(path: Path, n: int, resolution: int) -> np.ndarray:
    """A cached mask array, checked for the shape it must have (a stale or cut-short file raises)."""
    arr = np.load(path, allow_pickle=False)
    if arr.shape != (n, resolution, resolution):
        raise ValueError(f"shape {arr.shape}, expected {(n, resolution, resolution)}")
    return arr


@dataclass
class DSpritesSource:
    """A cue-factorised source: the factor table (one row per combination) and images rendered or loaded on demand.

    dsprites_path: the official dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz; None renders procedurally.
    """

    resolution: int = 32
    dsprites_path: str | Path | None = None
    cache: bool = True
    verbose: bool = True
    factors: pd.DataFrame = field(init=False, repr=False)
    kinds: dict = field(init=False, repr=False)
    source: str = field(init=False)
    _npz: np.ndarray | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        check_positive_int("resolution", self.resolution)
        self.factors = factor_table()
        self.kinds = dict(KINDS)
        if self.dsprites_path is None:
            self.source = "procedural"
            line = f"dSprites source: procedural renderer (v{RENDER_VERSION}) at {self.resolution}×{self.resolution}, coloured R/G/B"
        else:
            path = Path(self.dsprites_path)
            if not path.is_file():
                raise ParameterError("dsprites_path", str(self.dsprites_path),
                                     "None (render procedurally) or the path of the official dsprites .npz file")
            with np.load(path, allow_pickle=False) as z:
                if "imgs" not in z.files:
                    raise ParameterError("dsprites_path", str(path), "an .npz holding the array 'imgs' (737,280 × 64 × 64)")
                self._npz = z["imgs"]
            if self._npz.shape != (737_280, 64, 64):
                raise ParameterError("dsprites_path", str(path), "the official dsprites .npz ('imgs' shaped 737,280 × 64 × 64)")
            if 64 % self.resolution:
                raise ParameterError("resolution", self.resolution, "a divisor of 64 when dsprites_path is set (64, 32, 16, …)")
            self.source = "official npz"
            line = f"dSprites source: official npz {path.name} downsampled to {self.resolution}×{self.resolution}, coloured R/G/B"
        if self.verbose:
            print(line)

    def masks(self, rows: np.ndarray) -> torch.Tensor:
        """Grey sprites (n, H, W) in [0, 1] for factor-table rows (cached under data/dsprites/)."""
        rows = np.asarray(rows, np.int64)
        f = self.factors.iloc[rows]
        key = hashlib.sha1(f"{self.source}|{self.resolution}|{RENDER_VERSION}|".encode() + rows.tobytes()).hexdigest()[:16]
        path = data_dir() / "dsprites" / f"{'npz' if self._npz is not None else 'render'}-{self.resolution}px-{key}.npy"
        def build() -> np.ndarray:
            if self._npz is None:
                arr = np.concatenate([render_masks(*(f[n].to_numpy()[i:i + 2048] for n in FACTORS[1:]), self.resolution)
                                      for i in range(0, len(f), 2048)] or [np.zeros((0, self.resolution, self.resolution), np.uint8)])
                return arr * 255
            k = 64 // self.resolution
            raw = self._npz[official_row(f)].astype(np.float32)
            arr = raw.reshape(len(raw), self.resolution, k, self.resolution, k).mean((2, 4))
            return np.round(arr * 255).astype(np.uint8)

        if self.cache:
            # written atomically; a file cut short by an interrupted run is discarded and rebuilt (cuelab.io)
            arr = cached(path, load=lambda p: _load_masks(p, len(rows), self.resolution), build=build,
                         save=lambda tmp, a: np.save(tmp, a), what="dSprites cache")
        else:
            arr = build()
        return torch.from_numpy(arr.astype(np.float32) / 255.0)

    def images(self, rows: np.ndarray) -> torch.Tensor:
        """Coloured images (n, 3, H, W) float32 in [0, 1] for factor-table rows."""
        rows = np.asarray(rows, np.int64)
        color = torch.from_numpy(self.factors["color"].to_numpy()[rows].astype(np.int64))
        return colourise(self.masks(rows), color)

    def white_images(self, rows: np.ndarray) -> torch.Tensor:
        """The same sprites in white (n, 3, H, W): the official black-and-white dSprites, its one channel repeated
        three times; the colour factor is invisible. The authors' leave-one-out ran on B/W dSprites."""
        return self.masks(np.asarray(rows, np.int64))[:, None].expand(-1, 3, -1, -1).contiguous()

    def describe(self) -> str:
        """One line on what this source is."""
        return (f"colour-dSprites ({self.source}), {self.resolution}×{self.resolution}×3, factors "
                + ", ".join(f"{n} ({s})" for n, s in zip(FACTORS, SIZES)))


def row_of(levels: np.ndarray) -> np.ndarray:
    """Factor-table rows of level-index tuples (n, 6) in FACTORS order (the table is the full grid, colour slowest)."""
    levels = np.asarray(levels, np.int64).reshape(-1, len(FACTORS))
    return np.ravel_multi_index(tuple(levels.T), SIZES)
