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
    """The shared training recipe, plus bn_train_eval=True: evaluate with BatchNorm in training mode (the authors' main.py
    validation; their sphere test used eval mode)."""

    epochs: int = 5
    batch_size: int = 64
    bn_train_eval: bool = False


class OffDiagonalRecorder(L.Callback):
    """Off-diagonal accuracy of every cue (and training accuracy) before training and after each epoch.

    target_acc: stop training once the training accuracy (eval mode) reaches it (cue-forced runs). The training
    accuracy is recorded only when train is given (it costs a pass over the training set per epoch).
    """

    def __init__(self, wcst: WCST, train: tuple[torch.Tensor, torch.Tensor] | None = None, *, bn_train_mode: bool = False,
                 target_acc: float | None = None, cues: Sequence[str] | None = None, target_loss: float | None = None,
                 epoch_offset: int = 0) -> None:
        if (target_acc is not None or target_loss is not None) and train is None:
            raise ValueError("target_acc and target_loss need the training tensors")
        self.wcst, self.train, self.bn_train_mode, self.target_acc = wcst, train, bn_train_mode, target_acc
        self.target_loss, self.epoch_offset = target_loss, epoch_offset
        self.cues = tuple(cues if cues is not None else wcst.cues)
        self.rows: list[dict] = []

    def _record(self, module: L.LightningModule, epoch: int) -> tuple[float, float]:
        model = module.model
        epoch += self.epoch_offset
        for c in self.cues:
            x, y = self.wcst.tensors(c)
            self.rows.append({"epoch": epoch, "cue": c, "acc": accuracy(model, x, y, bn_train_mode=self.bn_train_mode)})
        if self.train is None:
            return float("nan"), float("nan")
        train_acc = accuracy(model, *self.train)
        train_loss = S.dataset_loss(*self.train)(model) if self.target_loss is not None else float("nan")
        self.rows.append({"epoch": epoch, "cue": "train", "acc": train_acc, "loss": train_loss})
        return train_acc, train_loss

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record(pl_module, 0)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        acc, loss = self._record(pl_module, trainer.current_epoch + 1)
        reached_acc = self.target_acc is None or acc >= self.target_acc
        reached_loss = self.target_loss is None or loss <= self.target_loss
        if (self.target_acc is not None or self.target_loss is not None) and reached_acc and reached_loss:
            trainer.should_stop = True


def train_on(wcst: WCST, train: str, arch: str, config: TrainConfig, *, seed: int, resolution: int,
             model_config: ModelConfig = ModelConfig(), shuffle_labels: bool = False, target_acc: float | None = None,
             model: nn.Module | None = None, record_cues: Sequence[str] | None = None,
             record_train: bool = False, target_loss: float | None = None,
             epoch_offset: int = 0) -> tuple[nn.Module, pd.DataFrame]:
    """Train a fresh (or the given) model on one WCST set; rows (epoch, cue, acc) per off-diagonal set in record_cues
    (default: all), and cue="train" for the training set when record_train, target_acc or target_loss is set
    (with its loss, in eval mode, when target_loss is set). Training stops once every target given is reached."""
    seed_everything(seed)
    if model is None:
        model = build_model(arch, resolution, wcst.n_levels, model_config, seed=seed)
    dm = WCSTDataModule(wcst, train=train, batch_size=config.batch_size, seed=seed, shuffle_labels=shuffle_labels)
    train_xy = dm.train_tensors() if (record_train or target_acc is not None or target_loss is not None) else None
    rec = OffDiagonalRecorder(wcst, train_xy, bn_train_mode=config.bn_train_eval, target_acc=target_acc, cues=record_cues,
                              target_loss=target_loss, epoch_offset=epoch_offset)
    module = Classifier(model, **config.optimizer_kwargs())
    loader = dm.train_dataloader()
    fit(module, loader, seed=seed, max_epochs=config.epochs, callbacks=[rec])
    return model.cpu().eval(), pd.DataFrame(rec.rows)


def _draw_of(shared: Any, seed: int) -> WCST:
    return shared[seed] if isinstance(shared, Mapping) else shared


def prepare(draws: WCST | Mapping[int, WCST]) -> None:
    """Render every set of every draw once, in this process, so forked workers inherit the images."""
    for w in (draws.values() if isinstance(draws, Mapping) else [draws]):
        w.tensors("diagonal")
        for c in w.cues:
            w.tensors(c)


def seed_draws(source: Any, cues: Sequence[str], seeds: Sequence[int], *, n_diagonal: int, n_off_diagonal: int,
               offset: int = 0, images: Any = None, first: WCST | None = None) -> dict[int, WCST]:
    """One independent WCST draw per seed (diagonal and off-diagonal evaluation sets), seed s drawn with seed offset + s.

    A run's evaluation images are then independent of every other run's, so per-image (binomial) error and seed
    variance add up honestly across seeds. first: an existing draw to reuse for seeds[0] (it must be the draw of
    offset + seeds[0]).
    """
    images = source.images if images is None else images
    out = {}
    for i, s in enumerate(seeds):
        out[s] = first if (i == 0 and first is not None) else build_wcst(
            source.factors, source.kinds, images, cues, n_diagonal=n_diagonal, n_off_diagonal=n_off_diagonal, seed=offset + s)
    return out


def _preference_job(arch: str, seed: int, config: TrainConfig, resolution: int, model_config: ModelConfig) -> pd.DataFrame:
    _, t = train_on(_draw_of(parallel.shared(), seed), "diagonal", arch, config, seed=seed, resolution=resolution,
                    model_config=model_config)
    return t.assign(arch=arch, seed=seed)


def preference_runs(wcst: WCST | Mapping[int, WCST], archs: Sequence[str], seeds: Sequence[int],
                    config: TrainConfig | Mapping[str, TrainConfig], *, resolution: int,
                    model_config: ModelConfig = ModelConfig(), desc: str = "preference",
                    workers: int | str = 1) -> pd.DataFrame:
    """Train on the diagonal per (arch, seed); rows (arch, seed, epoch, cue, acc), epoch 0 = initial weights.

    wcst: one draw for every run, or one per seed ({seed: WCST}, seed_draws): each run is then trained and
    evaluated on its own draw. workers: cuelab.parallel.map_jobs's ("auto": one single-thread process per CPU
    core; 1: in this process).
    """
    jobs = [(a, s, config[a] if isinstance(config, Mapping) else config, resolution, model_config)
            for a in archs for s in seeds]
    prepare({s: _draw_of(wcst, s) for s in seeds})
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
                  seed: int = 0, sprites: str = "coloured", workers: int | str = 1) -> tuple[dict[int, WCST], pd.DataFrame]:
    """WCST without cue `drop` (same sizes; one fresh draw per run, seed s drawn with seed + s) and its preference runs.

    Returns ({seed: draw}, runs). sprites: "coloured" keeps the R/G/B sprites (colour then varies freely, a
    nuisance); "white" renders them white once colour is no longer a cue, as the authors' leave-one-out did on
    black-and-white dSprites.
    """
    if drop not in cues:
        raise ParameterError("drop", drop, "one of the cues " + ", ".join(cues))
    check_choice("sprites", sprites, LOO_SPRITES)
    rest = tuple(c for c in cues if c != drop)
    images = source.white_images if sprites == "white" and "color" not in rest else source.images
    draws = seed_draws(source, rest, seeds, n_diagonal=n_diagonal, n_off_diagonal=n_off_diagonal, offset=seed, images=images)
    return draws, preference_runs(draws, archs, seeds, config, resolution=resolution, model_config=model_config,
                                  desc=f"without {drop}", workers=workers)


# ---------------------------------------------------------------------------------------------------------------
# Cue-forced solutions and their flatness


FORCED_CURRICULA = ("none", "off-first")


def forced_solutions(wcst: WCST, arch: str, config: TrainConfig, *, target_acc: float, seed: int, resolution: int,
                     model_config: ModelConfig = ModelConfig(), uses_cue_acc: float = 0.9, target_loss: float | None = None,
                     curriculum: str = "none", curriculum_epochs: int = 0, cues: Sequence[str] | None = None,
                     workers: int | str = 1) -> tuple[dict[str, nn.Module], pd.DataFrame]:
    """Per cue, a model trained on its cue-forced set (diagonal ∪ the cue's forced-training off-diagonal set) until
    the training accuracy reaches target_acc and, when given, the training loss (eval mode) falls to target_loss
    (matched base loss), or config.epochs.

    curriculum="off-first": first curriculum_epochs epochs on the cue's forced-training off-diagonal set alone
    (only the cue explains its labels), then the cue-forced set as above; the model is still a minimum of the
    cue-forced loss. Same initial weights for every cue. Each model is then scored on every cue's off-diagonal
    *evaluation* set, which it never saw: its held-out own-cue accuracy tells whether it uses its cue
    (≥ uses_cue_acc) or, say, colour plus a few memorised images. Rows: cue, epochs, train_acc, base_loss, reached
    (bool), heldout_own_acc, uses_cue (bool), follows (the cue whose held-out set it scores best on), n_heldout,
    and acc:<cue> for every cue.
    """
    models, info = forced_runs(wcst, arch, config, seeds=[seed], target_acc=target_acc, resolution=resolution,
                               model_config=model_config, uses_cue_acc=uses_cue_acc, target_loss=target_loss,
                               curriculum=curriculum, curriculum_epochs=curriculum_epochs, cues=cues, workers=workers)
    return {c: m for (_, c), m in models.items()}, info.drop(columns="seed")


def forced_runs(wcst: WCST, arch: str, config: TrainConfig, *, seeds: Sequence[int], target_acc: float, resolution: int,
                model_config: ModelConfig = ModelConfig(), uses_cue_acc: float = 0.9, target_loss: float | None = None,
                curriculum: str = "none", curriculum_epochs: int = 0, cues: Sequence[str] | None = None,
                workers: int | str = 1) -> tuple[dict[tuple[int, str], nn.Module], pd.DataFrame]:
    """forced_solutions for several initial seeds: models keyed (seed, cue), rows with a seed column."""
    check_in_interval("target_acc", target_acc, 0.0, 1.0, closed_high=True)
    check_in_interval("uses_cue_acc", uses_cue_acc, 0.0, 1.0, closed_high=True)
    check_choice("curriculum", curriculum, FORCED_CURRICULA)
    if target_loss is not None:
        check_in_interval("target_loss", target_loss, 0.0, 10.0)
    cues = list(wcst.cues if cues is None else cues)
    prepare(wcst)
    for c in cues:
        wcst.tensors(f"forced:{c}")
    jobs = [(cue, arch, config, target_acc, s, resolution, model_config, uses_cue_acc, target_loss, curriculum,
             curriculum_epochs) for s in seeds for cue in cues]
    done = parallel.map_jobs(_forced_job, jobs, workers=workers, desc="cue-forced", shared=wcst)
    return {(row["seed"], row["cue"]): m for m, row in done}, pd.DataFrame([row for _, row in done])


def _forced_job(cue: str, arch: str, config: TrainConfig, target_acc: float, seed: int, resolution: int,
                model_config: ModelConfig, uses_cue_acc: float, target_loss: float | None = None, curriculum: str = "none",
                curriculum_epochs: int = 0) -> tuple[nn.Module, dict[str, Any]]:
    wcst = parallel.shared()
    model, offset = None, 0
    if curriculum == "off-first" and curriculum_epochs > 0:
        model, _ = train_on(wcst, f"forced-off:{cue}", arch, config.with_(epochs=curriculum_epochs), seed=seed,
                            resolution=resolution, model_config=model_config, record_cues=())
        offset = curriculum_epochs
    m, t = train_on(wcst, f"forced:{cue}", arch, config, seed=seed, resolution=resolution, model_config=model_config,
                    target_acc=target_acc, target_loss=target_loss, record_cues=(), model=model, epoch_offset=offset)
    x, y = wcst.tensors(f"forced:{cue}")
    train = t[t["cue"] == "train"]
    acc = float(train["acc"].iloc[-1])
    base = S.dataset_loss(x, y)(m)
    held = {c: accuracy(m, *wcst.tensors(c), bn_train_mode=config.bn_train_eval) for c in wcst.cues}
    reached = acc >= target_acc and (target_loss is None or base <= target_loss)
    row = {"seed": seed, "cue": cue, "epochs": int(train["epoch"].iloc[-1]), "train_acc": acc,
           "base_loss": base, "reached": reached,
           "heldout_own_acc": held[cue], "uses_cue": held[cue] >= uses_cue_acc,
           "follows": max(held, key=held.get), "n_heldout": len(wcst.split(cue)), **{f"acc:{c}": v for c, v in held.items()}}
    return m, row


def _sphere_job(key: Any, model: nn.Module, radii: Sequence[float], n_directions: int, seed: int, bn_train_mode: bool,
                n_points: int | None) -> pd.DataFrame:
    wcst = parallel.shared()
    cue = key[1] if isinstance(key, tuple) else key
    x, y = wcst.tensors(f"forced:{cue}")
    if n_points is not None and n_points < len(y):
        pick = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n_points]
        x, y = x[pick], y[pick]
    t = S.sphere_test(model, S.dataset_loss(x, y, bn_train_mode=bn_train_mode), radii, n_directions, seed=seed)
    t = t.assign(cue=cue)
    if isinstance(key, tuple):
        t = t.assign(seed=key[0])
    return t


def sphere_sweep(models: Mapping[Any, nn.Module], wcst: WCST, radii: Sequence[float], n_directions: int, *, seed: int = 0,
                 bn_train_mode: bool = False, n_points: int | None = None, workers: int | str = 1) -> pd.DataFrame:
    """Sphere test of each cue-forced model on its own training set: rows (cue, direction, r, loss, delta), and
    seed when models are keyed (seed, cue) (forced_runs). Losses in eval mode, as the authors' main_sphere_test.py
    (model.eval() in its test()); bn_train_mode=True evaluates with BatchNorm in training mode instead.

    n_points: evaluate on a fixed random subset of that many training samples (None: all of them). Directions are
    drawn from `seed` for every model; a model keyed (s, cue) draws them from seed + s, so directions are
    independent across model seeds.
    """
    jobs = [(k, m, radii, n_directions, seed + (k[0] if isinstance(k, tuple) else 0), bn_train_mode, n_points)
            for k, m in models.items()]
    tables = parallel.map_jobs(_sphere_job, jobs, workers=workers, desc="sphere test", shared=wcst)
    cols = ["seed", "cue", "direction", "r", "loss", "delta"] if any(isinstance(k, tuple) for k in models) else \
        ["cue", "direction", "r", "loss", "delta"]
    return pd.concat(tables, ignore_index=True)[cols]


SURFACE_SETS = ("forced", "diagonal")


def _surface_job(cue: str, model: nn.Module, span: float, steps: int, n_points: int, seed: int, on: str) -> pd.DataFrame:
    wcst = parallel.shared()
    x, y = wcst.tensors(f"forced:{cue}" if on == "forced" else "diagonal")
    pick = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n_points]
    return S.loss_surface_2d(model, S.dataset_loss(x[pick], y[pick]), span=span, steps=steps, seed=seed).assign(cue=cue)


def surfaces(models: Mapping[str, nn.Module], wcst: WCST, *, span: float, steps: int, n_points: int, seed: int = 0,
             on: str = "forced", workers: int | str = 1) -> pd.DataFrame:
    """2-D filter-normalised loss surface of each model on (a fixed subset of) its cue-forced set, or of the diagonal
    set (on="diagonal", the authors' main_surf_test.py, span 2): rows (cue, alpha, beta, loss). Eval mode."""
    check_choice("on", on, SURFACE_SETS)
    jobs = [(c, m, span, steps, n_points, seed, on) for c, m in models.items()]
    return pd.concat(parallel.map_jobs(_surface_job, jobs, workers=workers, desc="2-D surfaces", shared=wcst),
                     ignore_index=True)


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
    for start, r, s in jobs:
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
    for k, c in enumerate(cues):
        y = torch.from_numpy(levels[:, k].astype(np.int64))
        make = lambda: MLP(int(np.prod(x.shape[1:])), num_classes, hidden=tuple(hidden))
        r = K.prequential_code_length(x, y, num_classes, make, block_ends=block_ends, steps=steps, lr=lr, seed=seed)
        rows.append({"cue": c, "bits": r["bits"], "uniform_bits": r["uniform_bits"]})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# The notebook's parameters


def check_study_parameters(*, resolution: int, cues: Sequence[str], n_diagonal: int, n_off_diagonal: int, n_forced_off: int,
                           archs: Sequence[str], hidden: Sequence[int], cnn_widths: Sequence[int], epochs: int,
                           batch_size: int, n_seeds: int, chance_arch: str, loo_arch: str, loo_steps: int,
                           loo_sprites: str, forced_arch: str, forced_target_acc: float, forced_max_epochs: int,
                           forced_uses_cue_acc: float, forced_seeds: int, forced_target_loss: float | None,
                           forced_cues: Sequence[str] | None,
                           forced_curriculum: str, forced_curriculum_epochs: int, sphere_radii: Sequence[float],
                           sphere_directions: int, surface_span: float, surface_steps: int, surface_on: str,
                           init_archs: Sequence[str], n_inits: int, n_probe: int, histogram_seeds: int,
                           compression_bases: int, mdl_block_ends: Sequence[int], rerun_radii: Sequence[float],
                           rerun_seeds: int, resnet_head: str, vit_pool: str, workers: int | str) -> None:
    """The notebook's parameters, checked together before anything is drawn or trained: a value or a combination
    that cannot be measured raises ParameterError naming the parameter, its value and what it accepts."""
    for name, value in dict(resolution=resolution, n_diagonal=n_diagonal, n_off_diagonal=n_off_diagonal,
                            n_forced_off=n_forced_off, epochs=epochs, batch_size=batch_size, n_seeds=n_seeds,
                            loo_steps=loo_steps, forced_max_epochs=forced_max_epochs, forced_seeds=forced_seeds,
                            sphere_directions=sphere_directions, surface_steps=surface_steps, n_inits=n_inits,
                            n_probe=n_probe, rerun_seeds=rerun_seeds).items():
        check_positive_int(name, value)
    for name, value in dict(histogram_seeds=histogram_seeds, compression_bases=compression_bases,
                            forced_curriculum_epochs=forced_curriculum_epochs).items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParameterError(name, value, "an int ≥ 0")
    cues = list(cues)
    if len(cues) < 2 or len(set(cues)) != len(cues) or not set(cues) <= set(DSPRITES_CUES):
        raise ParameterError("cues", cues, "at least two distinct cues from " + ", ".join(DSPRITES_CUES))
    if "color" not in cues:
        raise ParameterError("cues", cues, "a list of dSprites factors that includes 'color' (the claims are about it)")
    if not archs:
        raise ParameterError("archs", list(archs), "a non-empty list of " + ", ".join(ARCHS))
    for name, values in (("archs", archs), ("init_archs", init_archs)):
        for a in values:
            check_choice(name, a, ARCHS)
    for name, value in (("chance_arch", chance_arch), ("loo_arch", loo_arch), ("forced_arch", forced_arch)):
        check_choice(name, value, ARCHS)
    for name, widths in (("hidden", hidden), ("cnn_widths", cnn_widths)):
        if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ParameterError(name, list(widths), "a non-empty list of ints ≥ 1")
    if loo_steps > len(cues) - 2:
        raise ParameterError("loo_steps", loo_steps, f"at most len(cues) − 2 = {len(cues) - 2}: each step drops one cue "
                             "and at least two must remain to compete")
    check_choice("loo_sprites", loo_sprites, LOO_SPRITES)
    check_in_interval("forced_target_acc", forced_target_acc, 0.0, 1.0, closed_high=True)
    check_in_interval("forced_uses_cue_acc", forced_uses_cue_acc, 0.0, 1.0, closed_high=True)
    if forced_target_loss is not None:
        check_in_interval("forced_target_loss", forced_target_loss, 0.0, 10.0)
    if forced_cues is not None and ("color" not in forced_cues or not set(forced_cues) <= set(cues) or len(forced_cues) < 2):
        raise ParameterError("forced_cues", list(forced_cues), "None (every cue) or a list of at least two of the cues "
                             "that includes 'color' (WCST-4 compares colour with the others)")
    check_choice("forced_curriculum", forced_curriculum, FORCED_CURRICULA)
    if forced_curriculum == "none" and forced_curriculum_epochs:
        raise ParameterError("forced_curriculum_epochs", forced_curriculum_epochs,
                             "0 when forced_curriculum is 'none' (set forced_curriculum='off-first' to use it)")
    radii = list(sphere_radii)
    if not radii or any(isinstance(r, bool) or not isinstance(r, (int, float)) or r <= 0 for r in radii):
        raise ParameterError("sphere_radii", radii, "a non-empty list of radii > 0")
    if not any(r >= 6 for r in radii):
        raise ParameterError("sphere_radii", radii, "a list with at least one radius ≥ 6 (WCST-4 is read at the "
                             "authors' radii, 6 … 300, main_sphere_test.py)")
    if not surface_span > 0:
        raise ParameterError("surface_span", surface_span, "a number > 0")
    check_choice("surface_on", surface_on, SURFACE_SETS)
    ends = list(mdl_block_ends)
    if len(ends) < 2 or any(b <= a for a, b in zip(ends, ends[1:])) or ends[0] < 1:
        raise ParameterError("mdl_block_ends", ends, "an increasing list of at least two block ends ≥ 1")
    if ends[-1] > n_probe:
        raise ParameterError("mdl_block_ends", ends, f"block ends ≤ n_probe (= {n_probe}): the code sends the probe images")
    if any(isinstance(r, bool) or not isinstance(r, (int, float)) or r < 0 for r in rerun_radii):
        raise ParameterError("rerun_radii", list(rerun_radii), "a list of radii ≥ 0 (empty: no radius re-run)")
    check_choice("resnet_head", resnet_head, RESNET_HEADS)
    check_choice("vit_pool", vit_pool, VIT_POOLS)
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError("workers", workers, "'auto' or an int ≥ 1")


@dataclass(frozen=True)
class StudyConfig:
    """The configuration objects the notebook's parameters make: seeds, model and training recipes, workers."""

    seeds: list[int]
    forced_seeds: list[int]
    model: ModelConfig
    train: TrainConfig
    vit: TrainConfig
    configs: dict[str, TrainConfig]
    forced: TrainConfig
    workers: int


def study_config(*, seed: int, n_seeds: int, forced_seeds: int, archs: Sequence[str], chance_arch: str, loo_arch: str,
                 forced_arch: str, hidden: Sequence[int], cnn_widths: Sequence[int], resnet_depth: int, resnet_head: str,
                 vit_patch: int, vit_dim: int, vit_depth: int, vit_heads: int, vit_pool: str, vit_mlp_ratio: float,
                 epochs: int, lr: float, batch_size: int, bn_train_eval: bool, vit_epochs: int, vit_lr: float,
                 forced_max_epochs: int, workers: int | str) -> StudyConfig:
    """Seeds, the ModelConfig, the training recipes per architecture (the ViT: the authors' SGD 5e-3, momentum 0.9,
    weight decay 1e-4) and the cue-forced recipe, from the notebook's parameters."""
    model = ModelConfig(hidden=tuple(hidden), cnn_widths=tuple(cnn_widths), resnet_depth=resnet_depth,
                        resnet_head=resnet_head, vit_patch=vit_patch, vit_dim=vit_dim, vit_depth=vit_depth,
                        vit_heads=vit_heads, vit_pool=vit_pool, vit_mlp_ratio=float(vit_mlp_ratio))
    train = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, bn_train_eval=bn_train_eval)
    vit = TrainConfig(epochs=vit_epochs, lr=vit_lr, batch_size=batch_size, optimizer="sgd", momentum=0.9,
                      weight_decay=1e-4, bn_train_eval=bn_train_eval)
    configs = {a: (vit if a == "vit" else train) for a in [*archs, chance_arch, loo_arch, forced_arch]}
    seeds = [seed + i for i in range(check_positive_int("n_seeds", n_seeds))]
    return StudyConfig(seeds=seeds, forced_seeds=[seed + i for i in range(check_positive_int("forced_seeds", forced_seeds))],
                       model=model, train=train, vit=vit, configs=configs,
                       forced=configs[forced_arch].with_(epochs=forced_max_epochs),
                       workers=parallel.resolve_workers(workers, n_jobs=len(archs) * len(seeds)))
