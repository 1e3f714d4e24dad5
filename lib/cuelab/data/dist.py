"""DiST triplets (original, disrupted 1, disrupted 2): an offline tile-shuffle substitute and the official release.

The official DiST (Wen et al. 2023, github.com/starsky77/DiST, data/) pairs 2,400 ImageNet validation photos
(original/*.JPEG) with two texture syntheses of each (set1/*.jpg, set2/*.jpg). Those syntheses share blur,
colour and JPEG artefacts that model-free controls pick up (see methods/oddoneout.py), so the offline
substitute here is built so the controls cannot work:

* the two distractors are two tile shuffles of the original on a grid aligned to the ViT patch;
* the shuffles form a Latin rectangle with the original (no tile stays in place, and no tile sits at the same
  place in both distractors), so every pair of the three images differs by a derangement and the three images
  are exchangeable for anything that does not know which arrangement is "natural";
* every tile carries the same constant gutter ring (data/shapetex.py), so a pixel's 3 × 3 neighbourhood never
  spans two tiles: colour and |Laplacian| histograms of the three images are identical, not just close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from cuelab.data.shapetex import ShapeTexSpec, sample_regime
from cuelab.params import ParameterError, check_positive_int
from cuelab.seeding import generator

RELEASE_FOLDERS: tuple[str, ...] = ("original", "set1", "set2")
RELEASE_SIZE = 2400
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


# --------------------------------------------------------------------------- the offline substitute


def pairwise_derangements(
    n_tiles: int, g: torch.Generator, max_tries: int = 10_000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two permutations a, b of n_tiles with a[i] ≠ i, b[i] ≠ i and a[i] ≠ b[i] for every i.

    Drawn by joint rejection from independent uniform permutations, so (identity, a, b) is a uniform
    3-row Latin rectangle up to relabelling positions: its three rows are exchangeable.
    """
    if n_tiles < 3:
        raise ParameterError(
            "n_tiles", n_tiles, "an integer ≥ 3 (two distractors and the original need three places per tile)"
        )
    idx = torch.arange(n_tiles)
    for _ in range(max_tries):
        a = torch.randperm(n_tiles, generator=g)
        b = torch.randperm(n_tiles, generator=g)
        if not ((a == idx).any() or (b == idx).any() or (a == b).any()):
            return a, b
    raise RuntimeError(f"no pair of derangements found in {max_tries} tries")  # P(accept) ≈ e^-3 per try


def shuffle_tiles(images: torch.Tensor, perms: torch.Tensor, patch: int) -> torch.Tensor:
    """Move tiles: position p of image i receives tile perms[i, p] (tiles row-major on the patch grid).

    images: (n, C, H, W); perms: (n, tiles) or (tiles,) for all images alike.
    """
    n, c, h, w = images.shape
    if h % patch or w % patch:
        raise ValueError(f"patch={patch} must divide the image size {h}×{w}")
    gh, gw = h // patch, w // patch
    perms = perms.expand(n, gh * gw) if perms.dim() == 1 else perms
    tiles = images.reshape(n, c, gh, patch, gw, patch).permute(0, 2, 4, 1, 3, 5).reshape(n, gh * gw, c, patch, patch)
    moved = torch.gather(tiles, 1, perms[:, :, None, None, None].expand_as(tiles))
    return moved.reshape(n, gh, gw, c, patch, patch).permute(0, 3, 1, 4, 2, 5).reshape(n, c, h, w)


@dataclass(frozen=True)
class DistTriplets:
    """n triplets (n, 3, C, H, W) with the original at index 0, and what made them."""

    images: torch.Tensor
    perms: torch.Tensor  # (n, 2, tiles): the two shuffles
    shape: torch.Tensor | None = None  # shape class of the original (substitute only)
    texture: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]


def tile_triplets(images: torch.Tensor, patch: int, seed: int) -> DistTriplets:
    """Each image with two Latin-rectangle tile shuffles of itself: (n, 3, C, H, W), original first."""
    g = generator(seed)
    n, _, h, w = images.shape
    tiles = (h // patch) * (w // patch)
    perms = torch.stack([torch.stack(pairwise_derangements(tiles, g)) for _ in range(n)])  # (n, 2, tiles)
    a = shuffle_tiles(images, perms[:, 0], patch)
    b = shuffle_tiles(images, perms[:, 1], patch)
    return DistTriplets(torch.stack([images, a, b], dim=1), perms)


def make_substitute(
    n: int, seed: int, spec: ShapeTexSpec = ShapeTexSpec(), regime: str = "texture-correlated"
) -> DistTriplets:
    """n DiST-substitute triplets of shape × texture images of `regime` (deterministic in seed)."""
    n = check_positive_int("n", n)
    sample = sample_regime(n, regime, seed, spec)
    t = tile_triplets(sample.x, spec.patch, seed + 7_919)  # a stream apart from the images'
    return DistTriplets(t.images, t.perms, sample.shape, sample.texture)


def random_tile_shuffles(images: torch.Tensor, patch: int, seed: int) -> torch.Tensor:
    """Each image with its tiles moved by a random derangement (training data for the DiSTinguish head)."""
    g = generator(seed)
    n, _, h, w = images.shape
    tiles = (h // patch) * (w // patch)
    perms = torch.stack([pairwise_derangements(tiles, g)[0] for _ in range(n)])
    return shuffle_tiles(images, perms, patch)


# --------------------------------------------------------------------------- the official release


@dataclass(frozen=True)
class ReleaseTriplet:
    """One DiST item: the stem and the paths of the original and its two disrupted versions."""

    stem: str
    original: Path
    set1: Path
    set2: Path

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        """original, set1, set2 (the original first, as the scorer expects)."""
        return self.original, self.set1, self.set2


def _stems(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in found:
                raise ValueError(
                    f"{folder}: two images share the stem {path.stem!r} ({found[path.stem].name}, {path.name})"
                )
            found[path.stem] = path
    return found


def find_release(dist_root: str | Path, limit: int | None = None, expected: int = RELEASE_SIZE) -> list[ReleaseTriplet]:
    """The release's triplets under dist_root (original/, set1/, set2/), paired by file stem, sorted by stem.

    Without `limit` the release must be complete: `expected` (2,400) triplets and no image without its two
    partners. With `limit` the first `limit` complete triplets are used and unpaired images are ignored.
    """
    accepts = "a folder holding original/, set1/ and set2/ (the DiST release: data/ of github.com/starsky77/DiST)"
    if dist_root is None or not Path(dist_root).is_dir():
        raise ParameterError("dist_root", dist_root, accepts)
    root = Path(dist_root)
    missing = [f for f in RELEASE_FOLDERS if not (root / f).is_dir()]
    if missing:
        raise ParameterError("dist_root", str(dist_root), f"{accepts}; missing: {', '.join(m + '/' for m in missing)}")
    stems = {f: _stems(root / f) for f in RELEASE_FOLDERS}
    complete = sorted(set.intersection(*(set(s) for s in stems.values())))
    if limit is not None:
        limit = check_positive_int("limit", limit)
        if len(complete) < limit:
            raise ValueError(
                f"{root}: limit={limit} asks for more triplets than the {len(complete)} complete ones found"
            )
        complete = complete[:limit]
    else:
        unpaired = {f: sorted(set(s) - set(complete)) for f, s in stems.items()}
        if any(unpaired.values()):
            lines = [f"{f}/: {len(u)} without partners, e.g. {', '.join(u[:3])}" for f, u in unpaired.items() if u]
            raise ValueError(
                f"{root}: incomplete DiST release, images are paired by file stem across "
                f"{'/, '.join(RELEASE_FOLDERS)}/ and these lack a partner: {'; '.join(lines)}. "
                "Re-download the release or pass limit= to score a subset."
            )
        if len(complete) != expected:
            raise ValueError(
                f"{root}: found {len(complete)} complete triplets, the DiST release has {expected}; "
                f"pass limit={len(complete)} to score these anyway"
            )
    return [ReleaseTriplet(s, *(stems[f][s] for f in RELEASE_FOLDERS)) for s in complete]


def paper_transform(resize: int = 256, crop: int = 224):
    """eval.py's preprocessing without the normalisation: Resize(256) → CenterCrop(224) → [0, 1] tensor, 3 channels."""
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(resize),
            transforms.CenterCrop(crop),
            transforms.ToTensor(),
            transforms.Lambda(lambda x: x.repeat(3, 1, 1) if x.shape[0] == 1 else x[:3]),
        ]
    )


class ReleaseDataset(Dataset):
    """DiST release triplets as tensors (3, 3, 224, 224) in [0, 1]; normalisation is left to the model."""

    def __init__(self, triplets: Sequence[ReleaseTriplet], transform=None) -> None:
        self.triplets = list(triplets)
        self.transform = transform or paper_transform()

    def __len__(self) -> int:
        return len(self.triplets)

    def __getitem__(self, i: int) -> torch.Tensor:
        from PIL import Image

        images = []
        for path in self.triplets[i].paths:
            with Image.open(path) as im:
                images.append(self.transform(im.convert("RGB") if im.mode not in ("RGB", "L") else im))
        return torch.stack(images)
