"""The loops behind the shortcut-cues study (Scimeca, Oh, Chun, Poli & Yun, ICLR 2022): WCST-ML on colour-dSprites.

Preference (off-diagonal accuracy per cue and epoch, several seeds and architectures), leave-one-out ordering,
the measured chance of a label-shuffled model, cue-forced solutions trained to a common training accuracy and
their flatness (sphere test, filter-normalised surfaces), abundance (logit-variance share at initialisation,
adopted-cue histogram, radius re-run) and the two Kolmogorov-complexity proxies. Every function returns a pandas
frame (or models and frames) so the notebook only plots and decides claims.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from cuelab.data.wcst import WCST, WCSTDataModule, build_wcst, cue_levels
from cuelab.methods import complexity as K
from cuelab.methods import sharpness as S
from cuelab.methods.abundance import logit_variance_share, radius_rerun
from cuelab.models import MLP, CifarResNet, ClsViT, SmallCNN, SmallViT
from cuelab.models.resnet import RESNET_HEADS
from cuelab.params import ParameterError, check_choice, check_in_interval, check_positive_int
from cuelab.seeding import seed_everything
from cuelab import parallel, training
from cuelab.training import Classifier, accuracy, fit

ARCHS = ("cnn", "mlp", "resnet", "vit")
DSPRITES_CUES = ("shape", "scale", "orientation", "color")


# ---------------------------------------------------------------------------------------------------------------
# Models and training


VIT_POOLS = ("mean", "cls")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters: MLP widths, SmallCNN widths, ResNet depth and head, ViT size and pooling.

    resnet_head: "global" (global average pooling) or "avgpool8" (the authors' AvgPool2d(8) head and initialisation,
    cuelab.models.CifarResNet). vit_pool: "mean" (SmallViT, mean of the patch tokens) or "cls" (ClsViT: timm's
    VisionTransformer with a CLS token, the authors' model); vit_mlp_ratio: the MLP width over dim (theirs: 4).
    """

    hidden: tuple[int, ...] = (256, 256)
    cnn_widths: tuple[int, ...] = (32, 64, 128, 128)
    resnet_depth: int = 20
    resnet_head: str = "global"
    vit_patch: int = 8
    vit_dim: int = 64
    vit_depth: int = 4
    vit_heads: int = 4
    vit_pool: str = "mean"
    vit_mlp_ratio: float = 2.0

    def __post_init__(self) -> None:
        check_choice("resnet_head", self.resnet_head, RESNET_HEADS)
        check_choice("vit_pool", self.vit_pool, VIT_POOLS)


def build_model(arch: str, resolution: int, num_classes: int, model: ModelConfig = ModelConfig(), *, seed: int | None = None) -> nn.Module:
    """A fresh model for (3, resolution, resolution) images; seed fixes its initial weights."""
    check_choice("arch", arch, ARCHS)
    if seed is not None:
        torch.manual_seed(seed)
    if arch == "mlp":
        return MLP(3 * resolution * resolution, num_classes, hidden=tuple(model.hidden))
    if arch == "cnn":
        return SmallCNN(3, num_classes, widths=tuple(model.cnn_widths))
    if arch == "resnet":
        return CifarResNet(3, num_classes, depth=model.resnet_depth, head=model.resnet_head, image_size=resolution)
    if model.vit_pool == "cls":
        return ClsViT(resolution, model.vit_patch, 3, num_classes, dim=model.vit_dim, depth=model.vit_depth,
                      heads=model.vit_heads, mlp_ratio=model.vit_mlp_ratio)
    return SmallViT(resolution, model.vit_patch, 3, num_classes, dim=model.vit_dim, depth=model.vit_depth,
                    heads=model.vit_heads, mlp_ratio=model.vit_mlp_ratio)


@dataclass(frozen=True)
class TrainConfig(training.TrainConfig):
    """The shared training recipe, plus bn_train_eval=True: evaluate with BatchNorm in training mode (the authors' code)."""

    epochs: int = 5
    batch_size: int = 64
    bn_train_eval: bool = False


class OffDiagonalRecorder(L.Callback):
    """Off-diagonal accuracy of every cue (and training accuracy) before training and after each epoch.

    target_acc: stop training once the training accuracy (eval mode) reaches it (cue-forced runs). The training
    accuracy is recorded only when train is given (it costs a pass over the training set per epoch).
    """

    def __init__(self, wcst: WCST, train: tuple[torch.Tensor, torch.Tensor] | None = None, *, bn_train_mode: bool = False,
                 target_acc: float | None = None, cues: Sequence[str] | None = None) -> None:
        if target_acc is not None and train is None:
            raise ValueError("target_acc needs the training tensors")
        self.wcst, self.train, self.bn_train_mode, self.target_acc = wcst, train, bn_train_mode, target_acc
        self.cues = tuple(cues if cues is not None else wcst.cues)
        self.rows: list[dict] = []

    def _record(self, module: L.LightningModule, epoch: int) -> float:
        model = module.model
        for c in self.cues:
            x, y = self.wcst.tensors(c)
            self.rows.append({"epoch": epoch, "cue": c, "acc": accuracy(model, x, y, bn_train_mode=self.bn_train_mode)})
        if self.train is None:
            return float("nan")
        train_acc = accuracy(model, *self.train)
        self.rows.append({"epoch": epoch, "cue": "train", "acc": train_acc})
        return train_acc

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record(pl_module, 0)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        acc = self._record(pl_module, trainer.current_epoch + 1)
        if self.target_acc is not None and acc >= self.target_acc:
            trainer.should_stop = True


def train_on(wcst: WCST, train: str, arch: str, config: TrainConfig, *, seed: int, resolution: int,
             model_config: ModelConfig = ModelConfig(), shuffle_labels: bool = False, target_acc: float | None = None,
             model: nn.Module | None = None, record_cues: Sequence[str] | None = None,
             record_train: bool = False) -> tuple[nn.Module, pd.DataFrame]:
    """Train a fresh (or the given) model on one WCST set; rows (epoch, cue, acc) per off-diagonal set in record_cues
    (default: all), and cue="train" for the training set when record_train or target_acc is set."""
    seed_everything(seed)
    if model is None:
        model = build_model(arch, resolution, wcst.n_levels, model_config, seed=seed)
    dm = WCSTDataModule(wcst, train=train, batch_size=config.batch_size, seed=seed, shuffle_labels=shuffle_labels)
    train_xy = dm.train_tensors() if (record_train or target_acc is not None) else None
    rec = OffDiagonalRecorder(wcst, train_xy, bn_train_mode=config.bn_train_eval, target_acc=target_acc, cues=record_cues)
    module = Classifier(model, **config.optimizer_kwargs())
    loader = dm.train_dataloader()
    fit(module, loader, seed=seed, max_epochs=config.epochs, callbacks=[rec])
    return model.cpu().eval(), pd.DataFrame(rec.rows)


def _preference_job(arch: str, seed: int, config: TrainConfig, resolution: int, model_config: ModelConfig) -> pd.DataFrame:
    _, t = train_on(parallel.shared(), "diagonal", arch, config, seed=seed, resolution=resolution, model_config=model_config)
    return t.assign(arch=arch, seed=seed)


def preference_runs(wcst: WCST, archs: Sequence[str], seeds: Sequence[int], config: TrainConfig | Mapping[str, TrainConfig], *,
                    resolution: int, model_config: ModelConfig = ModelConfig(), desc: str = "preference",
                    workers: int | str = 1) -> pd.DataFrame:
    """Train on the diagonal per (arch, seed); rows (arch, seed, epoch, cue, acc), epoch 0 = initial weights.

    workers: cuelab.parallel.map_jobs's ("auto": one single-thread process per CPU core; 1: in this process).
    """
    jobs = [(a, s, config[a] if isinstance(config, Mapping) else config, resolution, model_config)
            for a in archs for s in seeds]
    tables = parallel.map_jobs(_preference_job, jobs, workers=workers, desc=desc, shared=wcst)
    return pd.concat(tables, ignore_index=True)[["arch", "seed", "epoch", "cue", "acc"]]


def final_accuracy(frame: pd.DataFrame) -> pd.DataFrame:
    """Off-diagonal accuracy after the last epoch: one row per (arch, seed), one column per cue."""
    last = frame[frame["epoch"] == frame.groupby(["arch", "seed"])["epoch"].transform("max")]
    return last.pivot_table(index=["arch", "seed"], columns="cue", values="acc")


def measured_chance(wcst: WCST, arch: str, config: TrainConfig, *, seed: int, resolution: int,
                    model_config: ModelConfig = ModelConfig()) -> pd.Series:
    """Off-diagonal accuracy per cue of a model trained on the diagonal with permuted labels (the measured chance)."""
    _, t = train_on(wcst, "diagonal", arch, config, seed=seed, resolution=resolution, model_config=model_config, shuffle_labels=True)
    return t[t["epoch"] == t["epoch"].max()].set_index("cue")["acc"]


LOO_SPRITES = ("white", "coloured")


def leave_one_out(source: Any, cues: Sequence[str], drop: str, archs: Sequence[str], seeds: Sequence[int], config: TrainConfig, *,
                  n_diagonal: int, n_off_diagonal: int, resolution: int, model_config: ModelConfig = ModelConfig(),
                  seed: int = 0, sprites: str = "coloured", workers: int | str = 1) -> tuple[WCST, pd.DataFrame]:
    """WCST without cue `drop` (same sizes, fresh draw) and its preference runs.

    sprites: "coloured" keeps the R/G/B sprites (colour then varies freely, a nuisance); "white" renders them white
    once colour is no longer a cue, as the authors' leave-one-out did on black-and-white dSprites.
    """
    if drop not in cues:
        raise ParameterError("drop", drop, "one of the cues " + ", ".join(cues))
    check_choice("sprites", sprites, LOO_SPRITES)
    rest = tuple(c for c in cues if c != drop)
    images = source.white_images if sprites == "white" and "color" not in rest else source.images
    w = build_wcst(source.factors, source.kinds, images, rest, n_diagonal=n_diagonal, n_off_diagonal=n_off_diagonal, seed=seed)
    return w, preference_runs(w, archs, seeds, config, resolution=resolution, model_config=model_config,
                              desc=f"without {drop}", workers=workers)


# ---------------------------------------------------------------------------------------------------------------
# Cue-forced solutions and their flatness


def forced_solutions(wcst: WCST, arch: str, config: TrainConfig, *, target_acc: float, seed: int, resolution: int,
                     model_config: ModelConfig = ModelConfig(), uses_cue_acc: float = 0.9,
                     workers: int | str = 1) -> tuple[dict[str, nn.Module], pd.DataFrame]:
    """Per cue, a model trained on its cue-forced set (diagonal ∪ the cue's forced-training off-diagonal set) until
    the training accuracy reaches target_acc (or config.epochs).

    Same initial weights for every cue. Each model is then scored on every cue's off-diagonal *evaluation* set,
    which it never saw: its held-out own-cue accuracy tells whether it uses its cue (≥ uses_cue_acc) or, say,
    colour plus a few memorised images. Rows: cue, epochs, train_acc, base_loss, reached (bool), heldout_own_acc,
    uses_cue (bool), follows (the cue whose held-out set it scores best on), and acc:<cue> for every cue.
    """
    check_in_interval("target_acc", target_acc, 0.0, 1.0, closed_high=True)
    check_in_interval("uses_cue_acc", uses_cue_acc, 0.0, 1.0, closed_high=True)
    jobs = [(cue, arch, config, target_acc, seed, resolution, model_config, uses_cue_acc) for cue in wcst.cues]
    done = parallel.map_jobs(_forced_job, jobs, workers=workers, desc="cue-forced", shared=wcst)
    return {row["cue"]: m for m, row in done}, pd.DataFrame([row for _, row in done])


def _forced_job(cue: str, arch: str, config: TrainConfig, target_acc: float, seed: int, resolution: int,
                model_config: ModelConfig, uses_cue_acc: float) -> tuple[nn.Module, dict[str, Any]]:
    wcst = parallel.shared()
    m, t = train_on(wcst, f"forced:{cue}", arch, config, seed=seed, resolution=resolution, model_config=model_config,
                    target_acc=target_acc, record_cues=())
    x, y = wcst.tensors(f"forced:{cue}")
    train = t[t["cue"] == "train"]
    acc = float(train["acc"].iloc[-1])
    held = {c: accuracy(m, *wcst.tensors(c), bn_train_mode=config.bn_train_eval) for c in wcst.cues}
    row = {"cue": cue, "epochs": int(train["epoch"].iloc[-1]), "train_acc": acc,
           "base_loss": S.dataset_loss(x, y)(m), "reached": acc >= target_acc,
           "heldout_own_acc": held[cue], "uses_cue": held[cue] >= uses_cue_acc,
           "follows": max(held, key=held.get), **{f"acc:{c}": v for c, v in held.items()}}
    return m, row


def sphere_sweep(models: Mapping[str, nn.Module], wcst: WCST, radii: Sequence[float], n_directions: int, *, seed: int = 0,
                 bn_train_mode: bool = False, n_points: int | None = None) -> pd.DataFrame:
    """Sphere test of each cue-forced model on its own training set: rows (cue, direction, r, loss, delta).

    n_points: evaluate on a fixed random subset of that many training samples (None: all of them).
    """
    tables = []
    for cue, m in tqdm(models.items(), desc="sphere test"):
        x, y = wcst.tensors(f"forced:{cue}")
        if n_points is not None and n_points < len(y):
            pick = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n_points]
            x, y = x[pick], y[pick]
        t = S.sphere_test(m, S.dataset_loss(x, y, bn_train_mode=bn_train_mode), radii, n_directions, seed=seed)
        tables.append(t.assign(cue=cue))
    return pd.concat(tables, ignore_index=True)[["cue", "direction", "r", "loss", "delta"]]


def surfaces(models: Mapping[str, nn.Module], wcst: WCST, *, span: float, steps: int, n_points: int, seed: int = 0) -> pd.DataFrame:
    """2-D filter-normalised loss surface of each model on (a fixed subset of) its cue-forced set: rows (cue, alpha, beta, loss)."""
    tables = []
    for cue, m in tqdm(models.items(), desc="2-D surfaces"):
        x, y = wcst.tensors(f"forced:{cue}")
        pick = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n_points]
        t = S.loss_surface_2d(m, S.dataset_loss(x[pick], y[pick]), span=span, steps=steps, seed=seed)
        tables.append(t.assign(cue=cue))
    return pd.concat(tables, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------------
# Abundance


def probe_set(source: Any, cues: Sequence[str], n: int, *, seed: int = 0,
              categories: Mapping[str, Sequence] | None = None) -> tuple[torch.Tensor, np.ndarray, int]:
    """n images drawn uniformly from the source (every factor free), in random order (the prequential code sends them
    in this order), with their cue levels (n, K) and L."""
    levels, rows, L_ = cue_levels(source.factors, cues, source.kinds, None, categories)
    pick = np.random.default_rng(seed).choice(len(rows), size=check_positive_int("n_probe", n), replace=False)
    return source.images(rows[pick]), levels[pick], L_


def init_variance(x: torch.Tensor, levels: np.ndarray, cues: Sequence[str], archs: Sequence[str], n_inits: int, *,
                  resolution: int, num_classes: int, model_config: ModelConfig = ModelConfig(), seed: int = 0) -> pd.DataFrame:
    """Logit-variance share per cue at initialisation: rows (arch, init, cue, share)."""
    tables = []
    for arch in archs:
        make = lambda s, a=arch: build_model(a, resolution, num_classes, model_config, seed=s)
        tables.append(logit_variance_share(make, x, levels, cues, n_inits, seed=seed).assign(arch=arch))
    return pd.concat(tables, ignore_index=True)


def radius_reruns(models: Mapping[str, nn.Module], wcst: WCST, radii: Sequence[float], config: TrainConfig, *,
                  seeds: Sequence[int], resolution: int) -> pd.DataFrame:
    """Jump ‖δ‖ = r from each cue-forced minimum, retrain on the diagonal, record off-diagonal accuracies: rows
    (start_cue, r, seed, cue, acc, adopted)."""
    rows = []
    jobs = [(c, r, s) for c in models for r in radii for s in seeds]
    for start, r, s in tqdm(jobs, desc="radius re-run"):
        def retrain(m: nn.Module, sd: int) -> pd.Series:
            _, t = train_on(wcst, "diagonal", "", config, seed=sd, resolution=resolution, model=m)
            return t[t["epoch"] == t["epoch"].max()].set_index("cue")["acc"]

        acc = radius_rerun(copy.deepcopy(models[start]), r, retrain, seed=s)
        for c, a in acc.items():
            rows.append({"start_cue": start, "r": float(r), "seed": s, "cue": c, "acc": float(a), "adopted": str(acc.idxmax())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# Kolmogorov-complexity proxies (dSprites: needs a full factor grid to vary one cue with the others fixed)


def level_stacks(source: Any, cues: Sequence[str], n_bases: int, *, seed: int = 0):
    """Yield (base, cue, stack): per random base image (factors drawn uniformly from the grid) and cue, the L images
    (L, 3, H, W) that show each level of the cue with every other factor fixed. Each level is shown by the middle
    raw value of its bin (its category for a categorical cue)."""
    from cuelab.data.dsprites import FACTORS, row_of

    levels, rows, L_ = cue_levels(source.factors, cues, source.kinds)
    table = source.factors.to_numpy()
    reps = {}
    for k, c in enumerate(cues):
        col = table[rows, FACTORS.index(c)]
        reps[c] = [int(np.sort(np.unique(col[levels[:, k] == l]))[len(np.unique(col[levels[:, k] == l])) // 2]) for l in range(L_)]
    rng = np.random.default_rng(seed)
    for b in range(check_positive_int("n_bases", n_bases)):
        base = table[rng.integers(len(table))].astype(np.int64)
        for c in cues:
            combos = np.repeat(base[None], L_, axis=0)
            combos[:, FACTORS.index(c)] = reps[c]
            yield b, c, source.images(row_of(combos))


def compression_proxy(source: Any, cues: Sequence[str], n_bases: int, *, seed: int = 0) -> pd.DataFrame:
    """Extra compressed bytes of one cue's L levels with the other factors fixed, per random base image and compressor.

    Rows (base, cue, method, bytes); the stacks are level_stacks(...)'s.
    """
    return pd.DataFrame([{"base": b, "cue": c, "method": method, "bytes": K.variation_bytes(stack, method)}
                         for b, c, stack in level_stacks(source, cues, n_bases, seed=seed) for method in K.COMPRESSORS])


def footprint_proxy(source: Any, cues: Sequence[str], n_bases: int, *, seed: int = 0) -> pd.DataFrame:
    """PNG bytes of each cue's level map (cuelab.methods.complexity.footprint_bytes) on the same stacks as the
    compression proxy: rows (base, cue, bytes, pixels), pixels = how many pixels the cue changes."""
    rows = []
    for b, c, stack in level_stacks(source, cues, n_bases, seed=seed):
        m = K.level_map(stack)
        rows.append({"base": b, "cue": c, "bytes": K.map_bytes(m), "pixels": int(m.sum())})
    return pd.DataFrame(rows)


def mdl_proxy(x: torch.Tensor, levels: np.ndarray, cues: Sequence[str], num_classes: int, *, block_ends: Sequence[int],
              hidden: Sequence[int] = (128,), steps: int = 100, lr: float = 1e-3, seed: int = 0) -> pd.DataFrame:
    """Prequential code length (bits) of each cue's labels on the probe images with a small MLP: rows (cue, bits, uniform_bits)."""
    rows = []
    for k, c in enumerate(tqdm(cues, desc="prequential MDL")):
        y = torch.from_numpy(levels[:, k].astype(np.int64))
        make = lambda: MLP(int(np.prod(x.shape[1:])), num_classes, hidden=tuple(hidden))
        r = K.prequential_code_length(x, y, num_classes, make, block_ends=block_ends, steps=steps, lr=lr, seed=seed)
        rows.append({"cue": c, "bits": r["bits"], "uniform_bits": r["uniform_bits"]})
    return pd.DataFrame(rows)
