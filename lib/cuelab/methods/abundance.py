"""How abundant are solutions for each cue in parameter space? Three views (Scimeca et al. 2022, §5).

- At initialisation: across random networks, the share of logit variance that each cue's level explains on images
  whose factors vary independently (a Valle-Pérez-style proxy: functions that already depend on a cue at random
  weights are many).
- Across training seeds: which cue each trained model adopted (a histogram over seeds).
- Radius re-run (full profile): jump a distance r from a cue-k minimum in a random direction, retrain on the
  diagonal, and see which cue the re-trained model adopts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from cuelab.methods.sharpness import _params, _shift, random_direction
from cuelab.params import check_positive_int
from cuelab.training import predict_logits


def eta_squared(values: np.ndarray, groups: np.ndarray) -> float:
    """Between-group share of variance of values (n, m) by groups (n,), summed over the m columns."""
    values = np.asarray(values, np.float64).reshape(len(groups), -1)
    total = ((values - values.mean(0)) ** 2).sum()
    if total <= 0:
        return 0.0
    between = 0.0
    for g in np.unique(groups):
        sel = values[groups == g]
        between += len(sel) * ((sel.mean(0) - values.mean(0)) ** 2).sum()
    return float(between / total)


@torch.no_grad()
def logit_variance_share(make_model: Callable[[int], nn.Module], x: torch.Tensor, levels: np.ndarray, cues: Sequence[str],
                         n_inits: int, *, seed: int = 0) -> pd.DataFrame:
    """Rows (init, cue, share): η² of each cue's level in the logits of freshly initialised networks (eval mode).

    make_model(seed) returns an untrained network; levels (n, K) are the cue levels of the images x.
    """
    check_positive_int("n_inits", n_inits)
    rows = []
    for i in range(n_inits):
        model = make_model(seed * 10_000 + i).eval()
        out = predict_logits(model, x, batch_size=512).numpy()
        for k, c in enumerate(cues):
            rows.append({"init": i, "cue": c, "share": eta_squared(out, levels[:, k])})
    return pd.DataFrame(rows)


def adopted_cue(final_acc: pd.Series) -> str:
    """The cue with the highest off-diagonal accuracy (index: cue names)."""
    return str(final_acc.idxmax())


def adopted_histogram(frame: pd.DataFrame, cues: Sequence[str], *, by: Sequence[str] = ("arch", "seed")) -> pd.DataFrame:
    """Counts and shares of the adopted cue over runs, from a preference table (columns by…, epoch, cue, acc)."""
    last = frame[frame["epoch"] == frame["epoch"].max()]
    adopted = last.groupby(list(by)).apply(lambda g: adopted_cue(g.set_index("cue")["acc"]), include_groups=False)
    counts = adopted.value_counts().reindex(list(cues), fill_value=0)
    return pd.DataFrame({"cue": list(cues), "runs": counts.to_numpy(), "share": counts.to_numpy() / max(len(adopted), 1)})


def radius_rerun(model: nn.Module, radius: float, retrain: Callable[[nn.Module, int], pd.Series], *, seed: int = 0) -> pd.Series:
    """Jump ‖δ‖ = radius from model's weights (a random unit direction, in place), retrain, return retrain's result.

    retrain(model, seed) trains the perturbed model on the diagonal and returns off-diagonal accuracy per cue.
    """
    base = [p.detach().clone() for p in _params(model)]
    _shift(model, [random_direction(model, seed)], [float(radius)], base)
    return retrain(model, seed)
