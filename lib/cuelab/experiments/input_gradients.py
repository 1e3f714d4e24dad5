"""The loops behind the input-gradients study (Shah, Jain & Netrapalli, NeurIPS 2021).

Standard and adversarially trained models on BlockMNIST, their attributions scored against the
known signal block, DiffROAR curves, the simplified data of the theory section, and the image
benchmarks (CIFAR-10, SVHN) of the full profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from cuelab.experiments.input_gradients_theory import (  # noqa: F401  (re-exported for the notebook)
    TheoryConfig, TheoryResult, loss_gradient, run_theory, signal_rank, standard_seed_spread, train_sgd)
from cuelab.methods import attribution as A
from cuelab.methods import localisation as Loc
from cuelab.methods import roar
from cuelab.methods.adversarial import AdversarialClassifier, AttackConfig, robust_accuracy
from cuelab.models import MLP, CifarResNet, SmallCNN, torchvision_resnet
from cuelab.params import ParameterError, check_choice, check_positive, check_positive_int
from cuelab.paths import data_dir
from cuelab.seeding import generator
from cuelab.training import Classifier, TrainConfig, accuracy, best_device, fit

ARCHS = ("mlp", "cnn", "resnet", "resnet18", "resnet50")
BENCHMARKS = ("cifar10", "svhn", "fashion_mnist")
RANKINGS = ("coordinate", "pixel")  # v1 ranked every coordinate (C·H·W); "pixel" sums |A| over channels


# ---------------------------------------------------------------------------------------------------------------
# Models and training


def build_model(arch: str, input_shape: Sequence[int], num_classes: int, *, hidden: Sequence[int] = (256, 256),
                resnet_depth: int = 20, seed: int | None = None) -> nn.Module:
    """A fresh model: "mlp" (flattened input), "cnn" (SmallCNN), "resnet" (CifarResNet of resnet_depth),
    "resnet18" / "resnet50" (torchvision's, small-image stem; v1 used ResNet50 on CIFAR-10); seed fixes its
    initial weights."""
    check_choice("arch", arch, ARCHS)
    if seed is not None:
        torch.manual_seed(seed)
    channels = int(input_shape[0])
    if arch == "mlp":
        return MLP(int(np.prod(input_shape)), num_classes, hidden=tuple(hidden))
    if arch == "cnn":
        return SmallCNN(channels, num_classes)
    if arch in ("resnet18", "resnet50"):
        return torchvision_resnet(arch, channels, num_classes)
    return CifarResNet(channels, num_classes, depth=resnet_depth)


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    *,
    attack: AttackConfig | None = None,
    ramp_fraction: float = 1 / 3,
    seed: int = 0,
) -> nn.Module:
    """Train model in place on (x, y) with cuelab.training.fit: standard, or PGD adversarial training when attack is set."""
    kwargs = config.optimizer_kwargs()
    if attack is None:
        module: Classifier = Classifier(model, **kwargs)
    else:
        module = AdversarialClassifier(model, attack, ramp_fraction=ramp_fraction, **kwargs)
    loader = DataLoader(TensorDataset(x, y), batch_size=config.batch_size, shuffle=True, generator=generator(seed))
    fit(module, loader, seed=seed, max_epochs=config.epochs)
    return model.to(best_device()).eval()


# ---------------------------------------------------------------------------------------------------------------
# Attributions scored against the signal block


@dataclass(frozen=True)
class AttributionSettings:
    """The papers' settings: SmoothGrad samples and noise (fraction of the input range), IG Riemann steps."""

    smoothgrad_samples: int = 50
    smoothgrad_noise: float = 0.15
    ig_steps: int = 50
    value_range: tuple[float, float] = (0.0, 1.0)

    def kwargs(self, method: str) -> dict:
        """The keyword arguments attribution.attribute takes for method."""
        if method == "smoothgrad":
            return {"n_samples": self.smoothgrad_samples, "noise": self.smoothgrad_noise, "value_range": self.value_range}
        if method == "integrated_gradients":
            return {"steps": self.ig_steps}
        return {}


def attributions(models: Mapping[str, nn.Module], x: torch.Tensor, methods: Iterable[str],
                 settings: AttributionSettings = AttributionSettings(), *, seed: int = 0,
                 progress: bool = True) -> dict[tuple[str, str], torch.Tensor]:
    """{(model name, method): attribution of x} — each explains the model's predicted label."""
    pairs = [(m, meth) for m in models for meth in methods]
    out = {}
    for name, method in tqdm(pairs, desc="attributions", disable=not progress):
        model = None if method == "random" else models[name]
        out[(name, method)] = A.attribute(method, model, x, seed=seed, **settings.kwargs(method))
    return out


def localisation_table(attrs: Mapping[tuple[str, str], torch.Tensor], signal_mask: torch.Tensor, *,
                       top_fraction: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """Per (model, method): mean null_mass and top-fraction share in the signal block (both 0.5 at random)."""
    rows = []
    for (name, method), a in attrs.items():
        rows.append({"model": name, "method": method,
                     "null_mass": float(Loc.null_mass(a, signal_mask).mean()),
                     "top10": float(Loc.top_share(a, signal_mask, top_fraction, seed=seed).mean())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# DiffROAR over several attributions


@dataclass(frozen=True)
class RoarInput:
    """One attribution to evaluate: per-pixel scores of the train images and of the test images."""

    train_scores: torch.Tensor
    test_scores: torch.Tensor


def diffroar_sweep(
    inputs: Mapping[str, RoarInput],
    make_model: Callable[[], nn.Module],
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    ks: Sequence[float],
    config: TrainConfig,
    *,
    reference_accuracy: float | Mapping[str, float] | None = None,
    recipe_accuracy: float | None = None,
    n_retrains: int = 1,
    fill: float | str = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """DiffROAR(k) rows for every attribution (column `attribution`).

    reference_accuracy: per attribution (a mapping with one entry per input), the clean test accuracy of the
    model it explains (the card: "the attributed model's clean accuracy"); a float applies to all. Masking only
    removes information, so a top-k retrain accuracy above it + 0.05 flags label leakage through the mask
    (column `leak_guard_ok`; column `reference_acc` holds the accuracy compared with).
    recipe_accuracy: the clean accuracy of the retrain recipe itself on the unmasked data (a standard model of the
    same architecture). Masking cannot beat it either, and it is the bound that still applies when the attributed
    model is less accurate than a standard one (adversarial training costs clean accuracy, and the retrains are
    standard): column `recipe_guard_ok`. fill: the value of the masked pixels, or "mean" for the training images'
    mean per channel (v1's get_masked_data).
    """
    if isinstance(reference_accuracy, Mapping):
        missing = sorted(set(inputs) - set(reference_accuracy))
        if missing:
            raise ParameterError("reference_accuracy", sorted(reference_accuracy),
                                 f"an accuracy for every attribution (missing: {', '.join(missing)})")
    fill_value = roar.fill_value(x_train, fill)
    tables = []
    for name, inp in inputs.items():
        t = roar.diffroar(make_model, (x_train, y_train, inp.train_scores), (x_test, y_test, inp.test_scores), ks, config,
                          n_retrains=n_retrains, fill=fill_value, seed=seed, desc=f"DiffROAR {name}")
        t.insert(0, "attribution", name)
        if reference_accuracy is None:
            t["reference_acc"] = float("nan")
            t["leak_guard_ok"] = True
        else:
            ref = float(reference_accuracy[name] if isinstance(reference_accuracy, Mapping) else reference_accuracy)
            t["reference_acc"] = ref
            t["leak_guard_ok"] = t["acc_top"].map(lambda a: roar.leak_guard(a, ref)).astype(bool)
        if recipe_accuracy is not None:
            t["recipe_guard_ok"] = t["acc_top"].map(lambda a: roar.leak_guard(a, float(recipe_accuracy))).astype(bool)
        tables.append(t)
    return pd.concat(tables, ignore_index=True)


def diffroar_at(table: pd.DataFrame, attribution: str, k: float) -> float:
    """Mean DiffROAR of one attribution at one k."""
    rows = table[(table["attribution"] == attribution) & np.isclose(table["k"], k)]
    if rows.empty:
        raise KeyError(f"no DiffROAR rows for {attribution!r} at k={k}")
    return float(rows["diffroar"].mean())


# ---------------------------------------------------------------------------------------------------------------
# The simplified data of the theory section: cuelab.experiments.input_gradients_theory (v1's SGD recipe)


# ---------------------------------------------------------------------------------------------------------------
# The image benchmarks of the full profile (CIFAR-10, SVHN)


def load_benchmark(dataset: str, *, root: str | Path | None = None, n_train: int | None = None,
                   n_test: int | None = None, download: bool = True) -> tuple[torch.Tensor, ...]:
    """(x_train, y_train, x_test, y_test) of a torchvision benchmark as float (N, C, H, W) in [0, 1].

    "cifar10" and "svhn": (N, 3, 32, 32); "fashion_mnist": (N, 1, 28, 28). n_train / n_test keep a fixed random
    subset (the whole set when None).
    """
    from torchvision import datasets

    check_choice("dataset", dataset, BENCHMARKS)
    root = str(root or data_dir())
    if dataset == "cifar10":
        tr, te = (datasets.CIFAR10(root, train=t, download=download) for t in (True, False))
        to_x = lambda d: torch.from_numpy(d.data).permute(0, 3, 1, 2).float() / 255.0  # noqa: E731
        parts = [to_x(tr), torch.tensor(tr.targets), to_x(te), torch.tensor(te.targets)]
    elif dataset == "svhn":
        tr, te = (datasets.SVHN(root, split=s, download=download) for s in ("train", "test"))
        to_x = lambda d: torch.from_numpy(d.data).float() / 255.0  # noqa: E731
        parts = [to_x(tr), torch.from_numpy(tr.labels).long(), to_x(te), torch.from_numpy(te.labels).long()]
    else:
        tr, te = (datasets.FashionMNIST(root, train=t, download=download) for t in (True, False))
        to_x = lambda d: d.data.unsqueeze(1).float() / 255.0  # noqa: E731
        parts = [to_x(tr), tr.targets.long(), to_x(te), te.targets.long()]
    for i, n in ((0, n_train), (2, n_test)):
        if n is not None and n < len(parts[i + 1]):
            keep = torch.randperm(len(parts[i + 1]), generator=generator(i))[: check_positive_int("n", n)].sort().values
            parts[i], parts[i + 1] = parts[i][keep], parts[i + 1][keep]
    return tuple(parts)


def parse_attack(text: str, bounds: tuple[float, float] | None = (0.0, 1.0), steps: int = 7) -> AttackConfig:
    """A training attack from "linf:8/255" or "l2:0.5" (PGD with `steps` steps of 2.5ε/steps, random start)."""
    try:
        norm, eps_text = text.split(":")
        num, _, den = eps_text.partition("/")
        eps = float(num) / (float(den) if den else 1.0)
    except ValueError:
        raise ParameterError("robust_attacks", text, "entries like 'linf:8/255' or 'l2:0.5'") from None
    return AttackConfig(check_choice("norm", norm, ("l2", "linf")), eps, steps, bounds=bounds)


def ranking_scores(attribution: torch.Tensor, ranking: str) -> torch.Tensor:
    """What DiffROAR ranks: |A| per coordinate (v1) or per pixel, channels summed."""
    check_choice("ranking", ranking, RANKINGS)
    return attribution.abs() if ranking == "coordinate" else A.pixel_scores(attribution)


def run_benchmark(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    arch: str,
    robust_attacks: Sequence[str],
    ks: Sequence[float],
    config: TrainConfig,
    n_retrains: int = 1,
    resnet_depth: int = 20,
    fill: float | str = "mean",
    ranking: str = "coordinate",
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DiffROAR curves of the input gradients of a standard and each robust model, plus random.

    v1's protocol where it is known: masked coordinates filled with the training data's mean (fill="mean"),
    every coordinate ranked (ranking="coordinate"), evaluation attacks without random start. Each attribution's
    leak guard compares with the clean accuracy of the model it explains (random: the standard model's).
    Returns (diffroar rows, a table of the attributed models' clean and robust accuracy).
    """
    check_choice("ranking", ranking, RANKINGS)
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    shape = tuple(x_train.shape[1:])
    # Without a seed: each DiffROAR retrain seeds the fresh model itself.
    make = lambda: build_model(arch, shape, num_classes, resnet_depth=resnet_depth)  # noqa: E731
    inputs: dict[str, RoarInput] = {}
    acc_rows = []
    reference: dict[str, float] = {}
    for name, attack in [("standard", None)] + [(a, parse_attack(a)) for a in robust_attacks]:
        fresh = build_model(arch, shape, num_classes, resnet_depth=resnet_depth, seed=seed)
        model = train_classifier(fresh, x_train, y_train, config, attack=attack, seed=seed)
        clean = accuracy(model, x_test, y_test)
        row = {"model": name, "clean_acc": clean}
        for a in robust_attacks:
            ev = parse_attack(a)
            row[f"robust_acc {a}"] = robust_accuracy(model, x_test, y_test, AttackConfig.evaluation(ev.norm, ev.eps))
        acc_rows.append(row)
        reference[name] = clean
        inputs[name] = RoarInput(ranking_scores(A.input_gradient(model, x_train), ranking),
                                 ranking_scores(A.input_gradient(model, x_test), ranking))
    inputs["random"] = RoarInput(ranking_scores(A.random_attribution(x_train, seed=seed), ranking),
                                 ranking_scores(A.random_attribution(x_test, seed=seed + 1), ranking))
    reference["random"] = reference["standard"]
    # The retrains use the same recipe (augmentation and schedule included) as the attributed models.
    table = diffroar_sweep(inputs, make, x_train, y_train, x_test, y_test, ks, config, reference_accuracy=reference,
                           recipe_accuracy=reference["standard"], n_retrains=n_retrains, fill=fill, seed=seed)
    return table, pd.DataFrame(acc_rows).set_index("model")
