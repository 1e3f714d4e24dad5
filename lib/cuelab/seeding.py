"""Seeds and determinism: same seed, same machine, same numbers."""

from __future__ import annotations

import os

import lightning as L
import torch


def seed_everything(seed: int) -> int:
    """Seed python, numpy and torch (dataloader workers too) and make torch deterministic."""
    # cuBLAS needs this set before the first matmul to run deterministically on a GPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    return L.seed_everything(seed, workers=True, verbose=False)


def generator(seed: int) -> torch.Generator:
    """A CPU torch.Generator seeded with seed, for data that must not depend on global state."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g
