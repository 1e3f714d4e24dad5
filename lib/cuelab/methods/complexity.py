"""Three PROXIES for the Kolmogorov complexity of a cue (the paper's own estimator is not public).

- Compression proxy: render the L levels of one cue with every other factor fixed, and count the extra bytes a
  general-purpose compressor (bz2, lzma) needs for the stack beyond the first image: C(x_1 … x_L) − C(x_1).
  A cue whose variation is a simple transformation of the image (a channel swap) costs few bytes.
- Prequential MDL (Blier & Ollivier 2018; Voita & Titov 2020): the online code length, in bits, of the cue's
  labels given the images, sending the labels block by block and coding each block with a model trained on the
  blocks before it (the first block with the uniform code). A cue that a model picks up from few examples has a
  short code.

- Footprint proxy: the same L level images, reduced to the cue's *level map*, the binary map of the pixels
  whose value changes across the cue's levels (any channel), coded by a fixed image codec (PNG, zlib level 9);
  the bytes beyond a blank map's. It is colour-blind (one channel, one bit per pixel, so a channel swap earns
  nothing) and learns nothing, so it neither favours colour by construction, as the compression proxy does, nor
  restates the networks' preference, as prequential MDL does. It measures how intricate the region a cue
  rewrites is: for colour, the whole sprite; for shape, the parts where the shapes disagree.

All are upper-bound-flavoured proxies, not Kolmogorov complexity; only their orderings are compared.
"""

from __future__ import annotations

import bz2
import copy
import lzma
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from cuelab.params import ParameterError, check_choice, check_positive_int
from cuelab.seeding import generator

COMPRESSORS = ("bz2", "lzma")


def to_bytes(images: np.ndarray | torch.Tensor) -> bytes:
    """Images in [0, 1] quantised to uint8, C-order bytes."""
    a = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    return np.clip(np.round(a * 255), 0, 255).astype(np.uint8).tobytes()


def compressed_bytes(data: bytes, method: str = "lzma") -> int:
    """Length of data compressed with bz2 (level 9) or lzma (preset 9 | extreme)."""
    check_choice("method", method, COMPRESSORS)
    if method == "bz2":
        return len(bz2.compress(data, 9))
    return len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))


def png_bytes(mask: np.ndarray) -> int:
    """Length of a 2-D boolean (or 0/1) map coded as a 1-bit PNG, zlib level 9 (Pillow)."""
    import io

    from PIL import Image

    a = np.asarray(mask)
    if a.ndim != 2:
        raise ParameterError("mask", f"an array of shape {a.shape}", "a 2-D map")
    buf = io.BytesIO()
    Image.fromarray(a.astype(bool)).save(buf, format="PNG", compress_level=9, optimize=False)
    return len(buf.getvalue())


def level_map(stack: np.ndarray | torch.Tensor) -> np.ndarray:
    """The pixels (H, W) whose value differs across a stack of L images (L, C, H, W) in any channel."""
    a = stack.detach().cpu().numpy() if isinstance(stack, torch.Tensor) else np.asarray(stack)
    if a.ndim != 4 or len(a) < 2:
        raise ParameterError("stack", f"an array of shape {a.shape}", "(L ≥ 2, C, H, W): one image per level of the cue")
    return (a.max(axis=0) - a.min(axis=0)).max(axis=0) > 1e-6


def map_bytes(m: np.ndarray) -> int:
    """PNG bytes of a level map beyond those of a blank map of the same size."""
    return png_bytes(m) - png_bytes(np.zeros_like(m))


def footprint_bytes(stack: np.ndarray | torch.Tensor) -> int:
    """PNG bytes of the stack's level map beyond those of a blank map of the same size."""
    return map_bytes(level_map(stack))


def variation_bytes(stack: np.ndarray | torch.Tensor, method: str = "lzma") -> int:
    """Extra compressed bytes of a stack of images (L, …) beyond its first image: C(stack) − C(stack[0])."""
    if len(stack) < 2:
        raise ParameterError("stack", f"{len(stack)} image(s)", "at least two images (one per level of the cue)")
    return compressed_bytes(to_bytes(stack), method) - compressed_bytes(to_bytes(stack[:1]), method)


def prequential_code_length(x: torch.Tensor, y: torch.Tensor, num_classes: int, make_model: Callable[[], nn.Module], *,
                            block_ends: Sequence[int], steps: int = 100, lr: float = 1e-3, batch_size: int = 64,
                            holdout: float = 0.1, eval_every: int = 10, seed: int = 0) -> dict:
    """Online code length (bits) of labels y given x: block 1 uniform, block i+1 coded by a model trained on blocks 1…i.

    Each model starts fresh (make_model is called after seeding) and takes up to `steps` Adam steps on the data sent
    so far, less a `holdout` share kept aside; the weights with the lowest held-out loss (checked every `eval_every`
    steps, and before the first step) code the next block. Without this early stopping a model trained to
    over-confidence on a small block codes the next one in more bits than the uniform code (Voita & Titov 2020 stop
    early the same way). Returns {"bits", "uniform_bits", "blocks": [bits per block]}.
    """
    ends = [int(e) for e in block_ends]
    if not ends or ends != sorted(ends) or ends[0] < 1 or ends[-1] > len(y):
        raise ParameterError("block_ends", ends, f"increasing sample counts between 1 and {len(y)}")
    check_positive_int("steps", steps)
    check_positive_int("eval_every", eval_every)
    blocks = [ends[0] * math.log2(num_classes)]
    for start, end in zip(ends[:-1], ends[1:]):
        torch.manual_seed(seed * 1_000 + start)
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        g = generator(seed * 1_000 + start)
        order = torch.randperm(start, generator=g)
        n_hold = max(1, int(round(holdout * start))) if start > 1 else 0
        hold, fit_idx = order[:n_hold], order[n_hold:] if start - n_hold > 0 else order

        def held_out_loss() -> float:
            if n_hold == 0:
                return 0.0
            model.eval()
            with torch.no_grad():
                loss = float(F.cross_entropy(model(x[hold]), y[hold]))
            model.train()
            return loss

        model.train()
        best, best_state = held_out_loss(), copy.deepcopy(model.state_dict())
        for step in range(1, steps + 1):
            idx = fit_idx[torch.randint(0, len(fit_idx), (min(batch_size, len(fit_idx)),), generator=g)]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            if step % eval_every == 0 or step == steps:
                loss = held_out_loss()
                if loss < best:
                    best, best_state = loss, copy.deepcopy(model.state_dict())
        model.load_state_dict(best_state)
        model.eval()
        with torch.no_grad():
            logp = F.log_softmax(model(x[start:end]), dim=-1)
            blocks.append(float(-logp.gather(1, y[start:end, None]).sum()) / math.log(2))
    return {"bits": float(sum(blocks)), "uniform_bits": ends[-1] * math.log2(num_classes), "blocks": blocks}


def footprint_shape_bias(size: int = 32, radii: Sequence[float] = (3, 4, 5, 6, 8)) -> pd.DataFrame:
    """What the footprint proxy makes of two maps of equal area by design: a filled disc and an annulus with the
    same pixel count (the thinnest hole that matches), centred in a size × size map.

    Colour's level map is always a filled silhouette, the other cues' maps are set differences with more boundary;
    this table says how much of a footprint ratio below 1 a filled map earns by its shape alone. Rows (radius,
    pixels, filled_bytes, ring_bytes, ratio = filled / ring).
    """
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    dist = np.hypot(yy, xx)
    rows = []
    for radius in radii:
        disc = dist <= radius
        area = int(disc.sum())
        ring = None
        for inner in np.arange(1.0, size / 2, 0.05):
            for outer in np.arange(inner + 0.5, size / 2, 0.05):
                cand = (dist <= outer) & (dist > inner)
                if int(cand.sum()) == area:
                    ring = cand
                    break
                if int(cand.sum()) > area:
                    break
            if ring is not None:
                break
        if ring is None:
            continue
        f, r = map_bytes(disc), map_bytes(ring)
        rows.append({"radius": float(radius), "pixels": area, "filled_bytes": f, "ring_bytes": r, "ratio": f / r})
    return pd.DataFrame(rows)
