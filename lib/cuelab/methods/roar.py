"""DiffROAR (Shah et al. 2021, §3): does an attribution rank the discriminative pixels first?

For an attribution A and a fraction k, two copies of the train and test sets are built: one keeping
only the top-k fraction of each image's pixels by |A| (the rest set to `fill`), one keeping only the
bottom-k. A fresh model is trained on each masked training set (through cuelab.training.fit) and
tested on the matching masked test set:
    DiffROAR(k) = test accuracy(top-k kept) − test accuracy(bottom-k kept).
> 0: A puts discriminative pixels first; ≈ 0: it ranks like chance (a random A); < 0: it inverts them.
Pitfalls handled here: ties are broken at random, and `leak_guard` checks that the top-k accuracy
does not exceed the attributed model's clean accuracy + 0.05 (a mask explaining the true label could
smuggle the label into the data; explain the predicted label instead).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from cuelab.progress import bar as progress_bar

from cuelab.methods.adversarial import robust_accuracy
from cuelab.methods.localisation import rank_descending
from cuelab.params import ParameterError, check_choice, check_in_interval, check_positive_int
from cuelab.seeding import generator
from cuelab.training import Classifier, TrainConfig, best_device, fit

WHICH = ("top", "bottom")
LEAK_MARGIN = 0.05


def keep_mask(scores: torch.Tensor, k: float, which: str = "top", *, seed: int = 0) -> torch.Tensor:
    """Boolean mask shaped like scores (N, …) keeping round(k·F) features per example, the top or bottom by score."""
    check_choice("which", which, WHICH)
    k = check_in_interval("k", k, 0.0, 1.0, closed_high=True)
    flat = scores.reshape(scores.shape[0], -1)
    n_keep = round(k * flat.shape[1])
    order = rank_descending(flat if which == "top" else -flat, seed=seed)
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask.scatter_(1, order[:, :n_keep], True)
    return mask.reshape(scores.shape)


def mask_images(x: torch.Tensor, keep: torch.Tensor, fill: float | torch.Tensor = 0.0) -> torch.Tensor:
    """x (N, C, H, W) with what lies outside keep set to fill.

    keep (N, H, W) masks whole pixels (every channel); keep shaped like x masks single coordinates (v1 ranked
    C·H·W coordinates). fill: a number, or a tensor broadcastable to one image (e.g. a per-channel mean (C, 1, 1)).
    """
    keep = keep.unsqueeze(1) if keep.ndim == x.ndim - 1 else keep
    return torch.where(keep, x, torch.as_tensor(fill, dtype=x.dtype))


FILLS = ("mean",)


def fill_value(x_train: torch.Tensor, fill: float | str) -> float | torch.Tensor:
    """The masked pixels' value: a number as given, or "mean": the training images' mean per channel (C, 1, 1)."""
    if isinstance(fill, str):
        check_choice("fill", fill, FILLS)
        dims = [0] + list(range(2, x_train.ndim))
        return x_train.mean(dim=dims).reshape(-1, *([1] * (x_train.ndim - 2)))
    return float(fill)


def label_leaking_scores(y: torch.Tensor, shape: Sequence[int], num_classes: int, *, seed: int = 0) -> torch.Tensor:
    """A positive control for the leak guard: scores that rank a class-specific set of pixels first.

    Each class owns a random tenth of the pixels; an image's scores are 1 on its true class's pixels and 0
    elsewhere. The top-k masks then encode the label in *where* pixels survive, whatever the image shows, so a
    model retrained on them beats any model of the images: the leak guard must trip.
    """
    g = generator(seed)
    n_pixels = int(torch.tensor(shape).prod())
    owned = torch.rand(num_classes, n_pixels, generator=g) < 0.1
    return owned[y].float().reshape(len(y), *shape)


# How each masked data set is retrained: the shared training recipe.
RetrainConfig = TrainConfig


def retrain_accuracy(
    make_model: Callable[[], nn.Module],
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    config: RetrainConfig,
    *,
    seed: int,
) -> float:
    """Train a fresh make_model() on (x_train, y_train) with cuelab.training.fit; return its test accuracy."""
    torch.manual_seed(seed)  # the fresh model's initial weights depend on the seed only
    module = Classifier(make_model(), **config.optimizer_kwargs())
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=config.batch_size, shuffle=True,
                        generator=generator(seed))
    fit(module, loader, seed=seed, max_epochs=config.epochs)
    return robust_accuracy(module.model.to(best_device()), x_test, y_test, None)


def diffroar(
    make_model: Callable[[], nn.Module],
    train: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    ks: Sequence[float],
    config: RetrainConfig = RetrainConfig(),
    *,
    n_retrains: int = 1,
    fill: float | torch.Tensor = 0.0,
    seed: int = 0,
    progress: bool = True,
    desc: str = "DiffROAR",
) -> pd.DataFrame:
    """DiffROAR(k) for each k: train/test are (images, labels, per-pixel scores); one row per (k, retrain)."""
    n_retrains = check_positive_int("n_retrains", n_retrains)
    ks = [check_in_interval("k", k, 0.0, 1.0, closed_high=True) for k in ks]
    if not ks:
        raise ParameterError("ks", ks, "a non-empty list of fractions in [0, 1]")
    rows = []
    with progress_bar(total=len(ks) * n_retrains * 2, desc=desc, disable=not progress) as bar:
        for k in ks:
            masked = {}
            for which in WHICH:
                # Different tie-break streams for train and test, the same for every retrain.
                masked[which] = (
                    mask_images(train[0], keep_mask(train[2], k, which, seed=seed), fill),
                    mask_images(test[0], keep_mask(test[2], k, which, seed=seed + 1), fill),
                )
            for r in range(n_retrains):
                acc = {}
                for which in WHICH:
                    x_tr, x_te = masked[which]
                    acc[which] = retrain_accuracy(make_model, x_tr, train[1], x_te, test[1], config, seed=seed + 1000 * r)
                    bar.update()
                rows.append({"k": k, "retrain": r, "acc_top": acc["top"], "acc_bottom": acc["bottom"],
                             "diffroar": acc["top"] - acc["bottom"]})
    return pd.DataFrame(rows)


def curve(table: pd.DataFrame) -> pd.DataFrame:
    """Per k: mean and standard deviation of DiffROAR over retrains, and the mean top/bottom accuracies."""
    g = table.groupby("k")
    out = pd.DataFrame({"diffroar": g["diffroar"].mean(), "std": g["diffroar"].std(ddof=0),
                        "acc_top": g["acc_top"].mean(), "acc_bottom": g["acc_bottom"].mean()})
    return out


def leak_guard(top_accuracy: float, clean_accuracy: float, margin: float = LEAK_MARGIN) -> bool:
    """True when the top-k retrain accuracy stays ≤ the attributed model's clean accuracy + margin."""
    return top_accuracy <= clean_accuracy + margin
