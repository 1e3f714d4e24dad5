"""Global shape (DiST): train a small model zoo on shape × texture images, measure cue-conflict shape bias and
DiST accuracy on the tile-shuffle substitute; score pretrained models and the controls on the official release.

The zoo: architectures ("cnn", "vit", "vit-nopos") × training regimes ("texture-correlated",
"style-randomised") × seeds, plus DiSTinguish variants (a 2K-way head: tile-shuffled images of class k are
class k′ = k + K). Every network is measured on the same evaluation sets, built from the notebook's seed.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch.utils.data import DataLoader, TensorDataset
from cuelab.progress import bar as progress_bar

from cuelab import intervals as iv
from cuelab.intervals import Estimate
from cuelab.data.dist import DistTriplets, ReleaseDataset, find_release, make_substitute, random_tile_shuffles
from cuelab.data.shapetex import REGIMES, ShapeTexSample, ShapeTexSpec, cue_conflict, sample_regime, shape_bias
from cuelab.methods import oddoneout as O
from cuelab.models.zoo import (
    ARCHS,
    REGISTRY,
    MissingDependency,
    build_small,
    distinguish_labels,
    load_pretrained,
    original_class_logits,
)
from cuelab.parallel import map_jobs, resolve_workers
from cuelab.params import ParameterError, check_choice, check_in_interval, check_positive, check_positive_int
from cuelab.training import Classifier, fit, predict_logits


@dataclass(frozen=True)
class ZooConfig:
    """Data, model and training sizes of the trained zoo, and how DiST is scored."""

    spec: ShapeTexSpec = field(default_factory=ShapeTexSpec)
    n_train: int = 2400
    epochs: int = 5  # the CNN's epochs
    vit_epochs: int = 12  # the ViTs learn shapes more slowly than the CNN (a transformer's lack of locality prior)
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    correlation: float = 1.0  # texture-correlated regime: P(texture family = shape class)
    distinguish_fraction: float = 0.5  # DiSTinguish: this fraction of the training images is added tile-shuffled
    cnn_widths: tuple[int, ...] = (16, 32, 64, 64)
    vit_dim: int = 48
    vit_depth: int = 2
    vit_heads: int = 4
    vit_patch: int = 8  # must divide the tile side spec.patch, so a tile shuffle moves whole ViT patches
    n_cue_conflict: int = 800
    n_test: int = 800
    n_triplets: int = 400
    tie_policy: str = "fractional"
    tie_tol: float = 1e-9
    n_boot: int = 1000
    bag_pad_to_gutter: bool = True  # the local-cue control sees the image border as gutter (LocalBagCNN pad_value)

    def __post_init__(self) -> None:
        for name in (
            "n_train",
            "epochs",
            "vit_epochs",
            "batch_size",
            "n_cue_conflict",
            "n_test",
            "n_triplets",
            "n_boot",
            "vit_dim",
            "vit_depth",
            "vit_heads",
        ):
            check_positive_int(name, getattr(self, name))
        check_positive("lr", self.lr)
        check_in_interval("weight_decay", self.weight_decay, 0.0, 1.0)
        check_in_interval("correlation", self.correlation, 0.0, 1.0, closed_high=True)
        check_in_interval("distinguish_fraction", self.distinguish_fraction, 0.0, 1.0, closed_high=True)
        check_choice("tie_policy", self.tie_policy, O.TIE_POLICIES)
        if self.spec.patch % self.vit_patch:
            raise ParameterError("vit_patch", self.vit_patch, f"a divisor of the tile side {self.spec.patch}")

    def with_(self, **changes: Any) -> "ZooConfig":
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class EvalSets:
    """What every trained network is measured on."""

    cue: ShapeTexSample  # cue-conflict images (shape a, texture b ≠ a)
    clean: ShapeTexSample  # held-out texture-correlated images (both cues agree)
    shape_only: ShapeTexSample  # held-out style-randomised images (only the shape tells the class)
    triplets: DistTriplets  # the DiST substitute


def make_eval_sets(config: ZooConfig, seed: int) -> EvalSets:
    """The evaluation sets of a run, from streams apart from every training seed's."""
    base = 1_000_003 + 17 * seed
    spec = config.spec
    return EvalSets(
        cue=cue_conflict(config.n_cue_conflict, base, spec),
        clean=sample_regime(config.n_test, "texture-correlated", base + 1, spec),
        shape_only=sample_regime(config.n_test, "style-randomised", base + 2, spec),
        triplets=make_substitute(config.n_triplets, base + 3, spec),
    )


def training_data(config: ZooConfig, regime: str, seed: int, *, distinguish: bool = False) -> TensorDataset:
    """A regime's training images and labels; with distinguish, tile-shuffled copies labelled k + K are added."""
    check_choice("regime", regime, REGIMES)
    sample = sample_regime(config.n_train, regime, 101 * seed + REGIMES.index(regime), config.spec, config.correlation)
    x, y = sample.x, sample.y
    if distinguish:
        n_dis = int(round(config.distinguish_fraction * len(sample)))
        shuffled = random_tile_shuffles(x[:n_dis], config.spec.patch, 7_777 + 101 * seed)
        x = torch.cat([x, shuffled])
        y = torch.cat([y, distinguish_labels(y[:n_dis], torch.ones(n_dis, dtype=torch.bool), config.spec.n_classes)])
    return TensorDataset(x, y)


def build(config: ZooConfig, arch: str, *, distinguish: bool = False) -> torch.nn.Module:
    """An untrained zoo network (K outputs, or 2K with the DiSTinguish head)."""
    k = config.spec.n_classes
    return build_small(
        arch,
        2 * k if distinguish else k,
        image_size=config.spec.image_size,
        patch=config.vit_patch,
        cnn_widths=config.cnn_widths,
        vit_dim=config.vit_dim,
        vit_depth=config.vit_depth,
        vit_heads=config.vit_heads,
        bag_pad_value=config.spec.gutter_value if config.bag_pad_to_gutter else None,
    )


def train(config: ZooConfig, arch: str, regime: str, seed: int, *, distinguish: bool = False) -> torch.nn.Module:
    """Train one zoo network (Adam, cross-entropy) and return it in eval mode on the CPU."""
    check_choice("arch", arch, ARCHS)
    data = training_data(config, regime, seed, distinguish=distinguish)
    torch.manual_seed(seed)  # the initial weights, before fit() reseeds for the data order
    model = build(config, arch, distinguish=distinguish)
    module = Classifier(model, optimizer="adam", lr=config.lr, weight_decay=config.weight_decay)
    epochs = config.vit_epochs if arch.startswith("vit") else config.epochs  # the CNNs (cnn, bagnet) train for `epochs`
    fit(module, DataLoader(data, batch_size=config.batch_size, shuffle=True), seed=seed, max_epochs=epochs)
    return model.cpu().eval()


def original_class_decisions(model: torch.nn.Module, x: torch.Tensor, num_classes: int,
                             batch_size: int = 512) -> torch.Tensor:
    """Class decisions among the K original classes (a DiSTinguish head's k′ outputs are ignored), in eval mode."""
    logits = predict_logits(model, x, batch_size=batch_size)
    return original_class_logits(logits, num_classes).argmax(dim=1)


def shape_items(pred: torch.Tensor, shape: torch.Tensor, texture: torch.Tensor) -> np.ndarray:
    """Per cue-conflict image: 1.0 for a shape decision, 0.0 for a texture decision, NaN for neither.

    Their mean over the non-NaN images is Geirhos' shape bias (shape / (shape + texture) decisions).
    """
    out = np.full(len(pred), np.nan, dtype=np.float32)
    out[(pred == texture).numpy()] = 0.0
    out[(pred == shape).numpy()] = 1.0
    return out


def evaluate(model: torch.nn.Module, sets: EvalSets, config: ZooConfig, *, seed: int = 0) -> dict[str, Any]:
    """Shape bias, accuracies, and DiST accuracy (the configured tie policy and the paper's) of one network."""
    k = config.spec.n_classes
    cue_pred = original_class_decisions(model, sets.cue.x, k)
    sb = shape_bias(cue_pred, sets.cue.shape, sets.cue.texture)
    feats = O.model_features(model, sets.triplets.images)
    main = O.score_features(feats, config.tie_policy, tie_tol=config.tie_tol, n_boot=config.n_boot, seed=seed)
    paper = O.score_features(feats, "first", tie_tol=config.tie_tol, n_boot=config.n_boot, seed=seed)
    decide = lambda x: original_class_decisions(model, x, k)  # noqa: E731
    return {
        "shape_bias": sb.shape_bias,
        "shape_decisions": sb.shape_fraction,
        "texture_decisions": sb.texture_fraction,
        "clean_acc": float((decide(sets.clean.x) == sets.clean.y).double().mean()),
        "shape_only_acc": float((decide(sets.shape_only.x) == sets.shape_only.y).double().mean()),
        "dist": main.accuracy,
        "dist_low": main.ci_low,
        "dist_high": main.ci_high,
        "dist_paper_rule": paper.accuracy,
        "dist_ties": main.ties,
        # per-item values, for intervals over seeds × items (cuelab.intervals): credit per triplet, and per
        # cue-conflict image 1 (shape decision), 0 (texture decision) or NaN (neither; left out of shape bias)
        "dist_credits": main.credits.astype(np.float64),
        "shape_items": shape_items(cue_pred, sets.cue.shape, sets.cue.texture),
    }


def model_name(arch: str, regime: str, distinguish: bool) -> str:
    """A short label, e.g. "cnn · style-randomised + DiSTinguish"."""
    return f"{arch} · {regime}" + (" + DiSTinguish" if distinguish else "")


_EVAL_SETS: dict[tuple[ZooConfig, int], EvalSets] = {}


def _eval_sets(config: ZooConfig, eval_seed: int) -> EvalSets:
    # One copy per process: a worker that runs several jobs builds the evaluation sets once.
    key = (config, eval_seed)
    if key not in _EVAL_SETS:
        _EVAL_SETS.clear()
        _EVAL_SETS[key] = make_eval_sets(config, eval_seed)
    return _EVAL_SETS[key]


def zoo_job(config: ZooConfig, arch: str, regime: str, distinguish: bool, seed: int, eval_seed: int) -> dict[str, Any]:
    """Train one zoo network and measure it: one row of run_zoo's table."""
    start = time.perf_counter()
    model = train(config, arch, regime, seed, distinguish=distinguish)
    row = {"model": model_name(arch, regime, distinguish), "arch": arch, "regime": regime, "distinguish": distinguish,
           "seed": seed}
    row.update(evaluate(model, _eval_sets(config, eval_seed), config, seed=eval_seed))
    row["seconds"] = time.perf_counter() - start
    return row


Job = tuple[str, str, bool, int]  # (arch, regime, DiSTinguish?, seed)


def zoo_jobs(
    archs: Sequence[str] = ARCHS,
    regimes: Sequence[str] = REGIMES,
    seeds: Iterable[int] = (0, 1, 2),
    distinguish_regimes: Sequence[str] = ("style-randomised",),
) -> list[Job]:
    """Every (arch, regime, DiSTinguish?, seed) of a zoo: plain networks per regime, then DiSTinguish ones."""
    archs = [check_choice("arch", a, ARCHS) for a in archs]
    regimes = [check_choice("regime", r, REGIMES) for r in regimes]
    distinguish_regimes = [check_choice("distinguish_regimes", r, REGIMES) for r in distinguish_regimes]
    seeds = list(seeds)
    return ([(a, r, False, s) for r in regimes for a in archs for s in seeds]
            + [(a, r, True, s) for r in distinguish_regimes for a in archs for s in seeds])


def job_cost(config: ZooConfig, job: Job) -> float:
    """A job's relative cost (epochs × training images): longer jobs are started first, so cores finish together."""
    arch, _, distinguish, _ = job
    epochs = config.vit_epochs if arch.startswith("vit") else config.epochs
    return epochs * (1 + (config.distinguish_fraction if distinguish else 0.0))


def run_jobs(
    config: ZooConfig, jobs: Sequence[Job], *, eval_seed: int = 0, workers: int | str = 1, progress: bool = True
) -> pd.DataFrame:
    """Train and measure each job (one row per network, in job order).

    workers: cuelab.parallel.map_jobs's ("auto": one single-thread process per CPU core; 1: in this process).
    "seconds" is each network's own time, so on several workers their sum exceeds the wall time.
    """
    jobs = [(check_choice("arch", a, ARCHS), check_choice("regime", r, REGIMES), bool(d), int(s)) for a, r, d, s in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -job_cost(config, jobs[i]))  # stable: ties keep job order
    rows = map_jobs(zoo_job, [(config, *jobs[i], eval_seed) for i in order], workers=workers, desc="zoo", progress=progress)
    by_job = dict(zip(order, rows))
    return pd.DataFrame([by_job[i] for i in range(len(jobs))])


def run_zoo(
    config: ZooConfig,
    *,
    archs: Sequence[str] = ARCHS,
    regimes: Sequence[str] = REGIMES,
    seeds: Iterable[int] = (0, 1, 2),
    distinguish_regimes: Sequence[str] = ("style-randomised",),
    eval_seed: int = 0,
    progress: bool = True,
    workers: int | str = 1,
) -> pd.DataFrame:
    """Train and measure every (arch, regime, DiSTinguish?, seed): run_jobs over zoo_jobs(...)."""
    return run_jobs(config, zoo_jobs(archs, regimes, seeds, distinguish_regimes), eval_seed=eval_seed,
                    workers=workers, progress=progress)


# --------------------------------------------------------------------------- summaries the claims read


REGIME_CHANGE = ({"regime": "texture-correlated", "distinguish": False}, {"regime": "style-randomised", "distinguish": False})


def distinguish_change(regime: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(base, treated) selections of DiSTinguish − plain training in one regime, for paired_effect."""
    return {"regime": regime, "distinguish": False}, {"regime": regime, "distinguish": True}


def _select(zoo: pd.DataFrame, sel: dict[str, Any]) -> pd.DataFrame:
    mask = np.ones(len(zoo), dtype=bool)
    for k, v in sel.items():
        mask &= (zoo[k] == v).to_numpy()
    return zoo[mask]


def nested_paired(treated: Sequence[np.ndarray], base: Sequence[np.ndarray], *, outer: str = "seeds",
                  inner: str = "items", n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Estimate:
    """mean over seeds of (mean over items of treated − of base), items paired within a seed (the same
    evaluation set), with a nested percentile bootstrap: seeds with replacement, then items within each drawn
    seed (the same item draw for both arms). NaN items (a cue-conflict image decided for neither cue) are left
    out of each mean, so on shape items the statistic is the difference of shape biases.
    """
    pairs = [(np.asarray(t, np.float64), np.asarray(b, np.float64)) for t, b in zip(treated, base, strict=True)]
    if not pairs:
        return Estimate(math.nan, math.nan, math.nan, 0, f"0 {outer}", "no paired runs")
    sizes = sorted({t.size for t, _ in pairs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN resample of shape items
        value = float(np.mean([np.nanmean(t) - np.nanmean(b) for t, b in pairs]))
        rng = np.random.default_rng(seed)
        per_seed = []
        for t, b in pairs:
            idx = rng.integers(0, t.size, size=(n_boot, t.size))
            per_seed.append(np.nanmean(t[idx], axis=1) - np.nanmean(b[idx], axis=1))
        per_seed = np.asarray(per_seed)  # (seeds, n_boot): item-resampled differences of each seed
        s = len(pairs)
        picks = rng.integers(0, s, size=(n_boot, s))
        draws = rng.integers(0, n_boot, size=(n_boot, s))  # a fresh item draw for each pick, even of one seed
        boot = np.nanmean(per_seed[picks, draws], axis=1)
    a = (1 - level) / 2
    lo, hi = (float(q) for q in np.nanquantile(boot, [a, 1 - a]))
    per = f"{sizes[0]:,}" if len(sizes) == 1 else f"{sizes[0]:,}–{sizes[-1]:,}"
    unit = outer.rstrip("s") if s == 1 else outer
    return Estimate(value, min(lo, value), max(hi, value), s, f"{s} {unit} × {per} {inner}",
                    f"nested percentile bootstrap ({outer}, then paired {inner} within each), {n_boot} resamples")


def level_estimate(rows: pd.DataFrame, column: str = "dist_credits", *, inner: str = "triplets", n_boot: int = 2000,
                   seed: int = 0) -> Estimate:
    """The mean over networks (seeds) of a per-item column's mean, nested-bootstrapped over seeds × items."""
    groups = [np.asarray(g, np.float64) for g in rows[column]]
    if len(groups) == 1:  # one seed: the interval is over items only, and says so
        est = iv.over_items(groups[0], unit=inner, n_boot=n_boot, seed=seed, stat=np.nanmean)
        return replace(est, resampled=f"1 seed × {est.resampled}")
    return iv.nested(groups, stat=np.nanmean, outer="seeds", inner=inner, n_boot=n_boot, seed=seed)


EFFECT_COLUMNS = {"shape_bias": ("shape_items", "cue-conflict images"), "dist": ("dist_credits", "triplets")}


def paired_effect(zoo: pd.DataFrame, *, base: dict[str, Any], treated: dict[str, Any],
                  columns: Sequence[str] = ("shape_bias", "dist"), n_boot: int = 2000, seed: int = 0
                  ) -> dict[str, dict[str, Estimate]]:
    """Per arch: the effect of `treated` over `base` training (rows selected by equality on columns), paired by
    seed and by evaluation item, as an Estimate per column (Δshape bias over seeds × cue-conflict images, ΔDiST
    over seeds × triplets). One function for the regime change (REGIME_CHANGE) and DiSTinguish
    (distinguish_change(regime)); a seed counts only where both arms were trained."""
    out: dict[str, dict[str, Estimate]] = {}
    b_rows, t_rows = _select(zoo, base), _select(zoo, treated)
    for arch in dict.fromkeys(zoo["arch"]):
        b = b_rows[b_rows["arch"] == arch].set_index("seed")
        t = t_rows[t_rows["arch"] == arch].set_index("seed")
        seeds = sorted(set(b.index) & set(t.index))
        if not seeds:
            continue
        out[arch] = {}
        for col in columns:
            items, inner = EFFECT_COLUMNS[col]
            out[arch][col] = nested_paired([t.loc[s, items] for s in seeds], [b.loc[s, items] for s in seeds],
                                           inner=inner, n_boot=n_boot, seed=seed)
    return out


def effect_frame(effects: dict[str, dict[str, Estimate]]) -> pd.DataFrame:
    """A display table of paired_effect's estimates: Δ and its 95% interval per column, and what was resampled."""
    rows = []
    for arch, cols in effects.items():
        row: dict[str, Any] = {"arch": arch}
        for col, e in cols.items():
            row |= {f"Δ{col}": e.value, f"Δ{col} low": e.low, f"Δ{col} high": e.high}
        row["resampled"] = "; ".join(dict.fromkeys(e.resampled for e in cols.values()))
        rows.append(row)
    return pd.DataFrame(rows).set_index("arch") if rows else pd.DataFrame()


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (NaN when either side is constant or has < 3 points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(stats.spearmanr(x[ok], y[ok]).statistic)


def spearman_over_seeds(zoo: pd.DataFrame, x: str = "shape_bias", y: str = "dist", *, n_boot: int = 2000,
                        seed: int = 0, level: float = 0.95) -> Estimate:
    """Spearman's ρ across the zoo's networks, with a cluster bootstrap over training seeds.

    The networks of one seed are not independent draws of "a model" (they share a design: regimes, DiSTinguish,
    archs), so the resampled unit is the seed: each bootstrap draw takes whole seeds (every network trained from
    it) with replacement. With 3 seeds the interval is wide; that is what the zoo can say.
    """
    seeds = sorted(set(zoo["seed"]))
    value = spearman(zoo[x], zoo[y])
    if len(seeds) < 2:
        return Estimate(value, value, value, 1, "1 seed", "one seed: no interval")
    by_seed = [zoo[zoo["seed"] == s][[x, y]].to_numpy(float) for s in seeds]
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        pick = np.concatenate([by_seed[i] for i in rng.integers(0, len(seeds), size=len(seeds))])
        r = spearman(pick[:, 0], pick[:, 1])
        if not math.isnan(r):
            boot.append(r)
    a = (1 - level) / 2
    lo, hi = (float(q) for q in np.quantile(boot, [a, 1 - a]))
    return Estimate(value, min(lo, value), max(hi, value), len(seeds),
                    f"{len(seeds)} seeds (whole seeds resampled; {len(zoo)} networks in all)",
                    f"cluster percentile bootstrap over training seeds, {n_boot} resamples")


def substitute_controls(sets: EvalSets, config: ZooConfig, *, seed: int = 0) -> pd.DataFrame:
    """The model-free controls on the substitute, under the configured tie policy and the paper's."""
    rows = []
    for policy in dict.fromkeys((config.tie_policy, "first")):
        for name, s in O.score_controls(
            sets.triplets.images, policy, tie_tol=config.tie_tol, n_boot=config.n_boot, seed=seed
        ).items():
            rows.append({"control": name, **s.as_dict()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the official release


@dataclass(frozen=True)
class ReleaseScoring:
    """How both release scorers (controls and models) score: one configuration for the two.

    tie_policy / tie_tol: how tied odd-one-out scores count (cuelab.methods.oddoneout.credit); n_boot, seed: the
    bootstrap interval over triplets; batch_size: triplets per forward batch; num_workers: DataLoader processes
    decoding the JPEGs (0: in this process). fast=True (the default) runs models under torch.inference_mode in
    channels_last memory format; fast=False is the earlier path (torch.no_grad, NCHW), kept to time against.
    """

    tie_policy: str = "fractional"
    tie_tol: float = 1e-9
    n_boot: int = 2000
    seed: int = 0
    batch_size: int = 64
    num_workers: int = 0
    fast: bool = True

    def __post_init__(self) -> None:
        check_choice("tie_policy", self.tie_policy, O.TIE_POLICIES)
        check_in_interval("tie_tol", self.tie_tol, 0.0, 1.0)
        check_positive_int("n_boot", self.n_boot)
        check_positive_int("batch_size", self.batch_size)
        if isinstance(self.num_workers, bool) or not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise ParameterError("num_workers", self.num_workers, "an integer ≥ 0")


class DecodedRelease(torch.utils.data.Dataset):
    """Release triplets decoded and preprocessed once (eval.py's Resize 256 → CenterCrop 224), held as uint8.

    2,400 triplets take about 1.1 GB. Scoring the controls and several models from it decodes each JPEG once
    instead of once per scorer; items are (3, 3, 224, 224) floats in [0, 1] as ReleaseDataset's (ToTensor's
    x / 255 of the same 8-bit pixels, so the values are identical).
    """

    def __init__(self, dataset: ReleaseDataset, *, num_workers: int = 0, batch_size: int = 32,
                 progress: bool = True) -> None:
        loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, shuffle=False)
        parts = [torch.round(b * 255).to(torch.uint8) for b in progress_bar(loader, desc="decode", disable=not progress)]
        self.images = torch.cat(parts) if parts else torch.zeros(0, 3, 3, 224, 224, dtype=torch.uint8)
        self.triplets = list(dataset.triplets)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i].float() / 255


def _scores_over(dataset, featurise, *, scoring: ReleaseScoring, desc: str) -> dict[str, np.ndarray]:
    """Oddity scores (n, 3) per feature kind, computed batch by batch (features are never all held at once)."""
    loader = DataLoader(dataset, batch_size=scoring.batch_size, num_workers=scoring.num_workers, shuffle=False)
    out: dict[str, list[np.ndarray]] = {}
    for batch in progress_bar(loader, desc=desc):
        for name, feats in featurise(batch).items():
            out.setdefault(name, []).append(O.oddity_scores(feats))
    return {k: np.concatenate(v) for k, v in out.items()}


def _summarise(scores: np.ndarray, scoring: ReleaseScoring) -> dict[str, Any]:
    c = O.credit(scores, scoring.tie_policy, tie_tol=scoring.tie_tol, seed=scoring.seed)
    paper = O.credit(scores, "first", tie_tol=scoring.tie_tol, seed=scoring.seed)
    low, high = O.bootstrap_ci(c, n_boot=scoring.n_boot, seed=scoring.seed)
    return {"dist": float(c.mean()), "dist_low": low, "dist_high": high, "dist_paper_rule": float(paper.mean()),
            "n": int(c.size), "credits": c, "scores": scores}


def score_release_controls(dataset, scoring: ReleaseScoring = ReleaseScoring()) -> pd.DataFrame:
    """The model-free controls on the release's 224 × 224 crops (eval.py's preprocessing, before normalising).

    dataset: a ReleaseDataset or a DecodedRelease. Columns: control, dist (its 95% interval dist_low/high over
    triplets), dist_paper_rule, n, credits and scores (per triplet), seconds.
    """
    start = time.perf_counter()
    scores = _scores_over(dataset, O.control_features, scoring=scoring, desc="controls")
    seconds = round(time.perf_counter() - start, 1)  # all three controls together (one pass over the images)
    return pd.DataFrame([{"control": k, **_summarise(v, scoring), "seconds": seconds} for k, v in scores.items()])


def model_featuriser(model: torch.nn.Module, *, fast: bool = True):
    """A function (batch of triplets (b, 3, 3, H, W)) → {"model": features (b, 3, d)} for the release scorers.

    fast: the model in channels_last memory format, traced and frozen by TorchScript (batch norms folded into the
    convolutions) for the batch's image size, run under torch.inference_mode; compare_release_paths times it
    against the earlier path, and tests check both give the same scores. fast=False: torch.no_grad in NCHW.
    """
    dev = next(model.parameters()).device
    model = model.eval()
    traced: dict[tuple[int, ...], Any] = {}
    if fast:
        model = model.to(memory_format=torch.channels_last)

    def featurise(batch: torch.Tensor) -> dict[str, torch.Tensor]:
        flat = batch.reshape(-1, *batch.shape[2:]).to(dev)
        if fast:
            flat = flat.contiguous(memory_format=torch.channels_last)
            key = tuple(flat.shape[1:])  # a trace fixes the padding arithmetic of one image size
            if key not in traced:
                with torch.no_grad():
                    traced[key] = torch.jit.freeze(torch.jit.trace(model, flat[:2], check_trace=False))
            with torch.inference_mode():
                out = traced[key](flat)
        else:
            with torch.no_grad():
                out = model(flat)
        return {"model": out.float().cpu().reshape(batch.shape[0], 3, -1)}

    return featurise


def score_release_models(
    dataset,
    names: Sequence[str],
    *,
    scoring: ReleaseScoring = ReleaseScoring(),
    device: str = "auto",
    feature: str = "paper",
    weights_paths: dict[str, str] | None = None,
    pretrained: bool = True,
) -> pd.DataFrame:
    """DiST accuracy of registry models on the release; models that cannot be loaded get a row saying why.

    dataset: a ReleaseDataset or a DecodedRelease (decoded once for every model). pretrained=False scores randomly
    initialised architectures (no download; for tests). The credits and scores columns hold the per-triplet values.
    """
    rows = []
    for name in names:
        entry = REGISTRY[check_choice("pretrained_models", name, REGISTRY)]
        base = {
            "name": name,
            "label": entry.label,
            "family": entry.family,
            "training": entry.training,
            "paper_dist": entry.paper_dist,
            "paper_shape_bias": entry.paper_shape_bias,
        }
        start = time.perf_counter()
        try:
            model = load_pretrained(
                name,
                device=device,
                feature=feature,
                pretrained=pretrained,
                weights_path=(weights_paths or {}).get(name),
            )
        except MissingDependency as err:
            rows.append({**base, "skipped": str(err)})
            continue
        dev = next(model.parameters()).device
        featurise = model_featuriser(model, fast=scoring.fast)
        scores = _scores_over(dataset, featurise, scoring=scoring, desc=name)["model"]
        rows.append({**base, **_summarise(scores, scoring), "skipped": "",
                     "seconds": round(time.perf_counter() - start, 1)})
        del model, featurise
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return pd.DataFrame(rows)


def compare_release_paths(dataset: ReleaseDataset, name: str, *, scoring: ReleaseScoring = ReleaseScoring(),
                          device: str = "cpu", pretrained: bool = True) -> dict[str, Any]:
    """Time the earlier release path against the fast one on the same triplets, side by side, for one model.

    old: JPEGs decoded by the DataLoader, torch.no_grad, NCHW. new: the triplets decoded once (DecodedRelease, its
    time included), torch.inference_mode, channels_last. Returns both times in seconds, images per second, the
    ratio, and how far the per-triplet oddity scores and credits of the two paths differ.
    """
    old_cfg, new_cfg = replace(scoring, fast=False), replace(scoring, fast=True)
    start = time.perf_counter()
    torch.manual_seed(scoring.seed)  # the same weights for both paths when pretrained=False (random initialisation)
    old = score_release_models(dataset, [name], scoring=old_cfg, device=device, pretrained=pretrained).iloc[0]
    t_old = time.perf_counter() - start
    start = time.perf_counter()
    decoded = DecodedRelease(dataset, num_workers=scoring.num_workers, progress=False)
    torch.manual_seed(scoring.seed)
    new = score_release_models(decoded, [name], scoring=new_cfg, device=device, pretrained=pretrained).iloc[0]
    t_new = time.perf_counter() - start
    images = 3 * len(dataset)
    return {"model": name, "triplets": len(dataset), "threads": torch.get_num_threads(),
            "old_s": round(t_old, 1), "new_s": round(t_new, 1), "old_images_per_s": round(images / t_old, 2),
            "new_images_per_s": round(images / t_new, 2), "speed_up": round(t_old / t_new, 2),
            "max_score_diff": float(np.max(np.abs(old["scores"] - new["scores"]))),
            "credits_equal": bool(np.array_equal(old["credits"], new["credits"])),
            "dist_old": old["dist"], "dist_new": new["dist"]}


# --------------------------------------------------------------------------- the texture-synthesis demonstration


def texture_demo(
    images: dict[str, torch.Tensor],
    *,
    steps: int = 200,
    seed: int = 0,
    tie_policy: str = "fractional",
    progress: bool = True,
) -> tuple[torch.Tensor, pd.DataFrame]:
    """DiST-style items from photos (original + two random-filter Gram syntheses) and each control's credit per photo.

    Returns the triplets (n, 3, 3, H, W) and a long table (image, control, credit) under tie_policy.
    """
    from cuelab.methods.texture import synthesis_triplet

    names = list(images)
    triplets = torch.stack(
        [
            synthesis_triplet(images[n], seeds=(2 * seed + 1, 2 * seed + 2), steps=steps, bank_seed=seed)
            for n in progress_bar(names, desc="texture synthesis", disable=not progress)
        ]
    )
    rows = []
    for control, feats in O.control_features(triplets).items():
        credits = O.credit(O.oddity_scores(feats), tie_policy, seed=seed)
        rows += [{"image": n, "control": control, "credit": float(c)} for n, c in zip(names, credits, strict=True)]
    return triplets, pd.DataFrame(rows)


def pretrained_credit(
    triplets: torch.Tensor,
    name: str,
    *,
    size: int = 224,
    tie_policy: str = "fractional",
    seed: int = 0,
    device: str = "cpu",
) -> np.ndarray:
    """A registry model's credit per triplet (n, 3, 3, H, W in [0, 1]), the images resized to size × size (bicubic).

    Used for the texture-synthesis photos with the offline EfficientNet-Lites; raises MissingDependency when the
    model's weights are not installed.
    """
    model = load_pretrained(check_choice("name", name, REGISTRY), device=device)
    flat = triplets.reshape(-1, *triplets.shape[2:]).float()
    if flat.shape[-1] != size or flat.shape[-2] != size:
        flat = torch.nn.functional.interpolate(flat, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    feats = O.model_features(model, flat.reshape(triplets.shape[0], 3, *flat.shape[1:]), batch_size=32)
    return O.credit(O.oddity_scores(feats), tie_policy, seed=seed)


# --------------------------------------------------------------------------- the notebook's parameters and results

SEEING_ARCHS = ("cnn", "vit", "vit-nopos")  # the archs the claims are about (bagnet is the local-cue control)


def check_study_parameters(
    *,
    profile: str = "smoke",
    seed: int = 0,
    n_seeds: int = 3,
    distinguish_seeds: int = 1,
    distinguish_regimes: Sequence[str] = ("texture-correlated",),
    archs: Sequence[str] = SEEING_ARCHS,
    nopos_seeds: int = 1,
    local_control_seeds: int = 1,
    image_size: int = 32,
    tile: int = 16,
    gutter: int = 3,
    vit_patch: int = 8,
    n_classes: int = 8,
    texture_correlation: float = 1.0,
    n_train: int = 2400,
    epochs: int = 5,
    vit_epochs: int = 12,
    batch_size: int = 32,
    lr: float = 1e-3,
    cnn_widths: Sequence[int] = (16, 32, 64, 64),
    vit_dim: int = 48,
    vit_depth: int = 2,
    vit_heads: int = 4,
    distinguish_fraction: float = 0.5,
    n_cue_conflict: int = 800,
    n_test: int = 800,
    n_triplets: int = 400,
    tie_policy: str = "fractional",
    tie_tol: float = 1e-9,
    n_boot: int = 1000,
    synthesis_images: Sequence[str] = ("astronaut", "coffee", "chelsea", "rocket"),
    synthesis_size: int = 64,
    synthesis_steps: int = 150,
    synthesis_models: Sequence[str] = ("efficientnet_lite0",),
    dist_limit: int | None = None,
    pretrained_models: Sequence[str] = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"),
    pretrained_feature: str = "paper",
    workers: int | str = "auto",
    release_batch_size: int = 32,
    num_workers: int = 0,
) -> None:
    """The notebook's parameters, checked together before anything runs (no data, no training, well under a second).

    Raises ParameterError naming the bad parameter, its value and what it accepts. The defaults are the notebook's
    (the smoke profile). dist_root, weights_paths and device are checked where they are used (study_config).
    """
    from cuelab.params import check_profile

    check_profile(profile)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError("seed", seed, "an integer ≥ 0")
    for name, value in dict(n_seeds=n_seeds, distinguish_seeds=distinguish_seeds, nopos_seeds=nopos_seeds,
                            image_size=image_size, tile=tile, vit_patch=vit_patch, n_classes=n_classes,
                            n_train=n_train, epochs=epochs, vit_epochs=vit_epochs, batch_size=batch_size,
                            vit_dim=vit_dim, vit_depth=vit_depth, vit_heads=vit_heads, n_cue_conflict=n_cue_conflict,
                            n_test=n_test, n_triplets=n_triplets, n_boot=n_boot, synthesis_size=synthesis_size,
                            synthesis_steps=synthesis_steps, release_batch_size=release_batch_size).items():
        check_positive_int(name, value)
    if distinguish_seeds > n_seeds:
        raise ParameterError("distinguish_seeds", distinguish_seeds, f"an integer in [1, n_seeds={n_seeds}]")
    if nopos_seeds > n_seeds:
        raise ParameterError("nopos_seeds", nopos_seeds, f"an integer in [1, n_seeds={n_seeds}]")
    if isinstance(local_control_seeds, bool) or not isinstance(local_control_seeds, int) \
            or not 0 <= local_control_seeds <= n_seeds:
        raise ParameterError("local_control_seeds", local_control_seeds, f"an integer in [0, n_seeds={n_seeds}]")
    if isinstance(archs, str) or not len(archs):
        raise ParameterError("archs", archs, f"a non-empty list of {', '.join(repr(a) for a in SEEING_ARCHS)}")
    for a in archs:
        check_choice("archs", a, SEEING_ARCHS)
    for r in distinguish_regimes:
        check_choice("distinguish_regimes", r, REGIMES)
    if image_size % tile:
        raise ParameterError("tile", tile, f"a divisor of image_size={image_size}")
    if (image_size // tile) ** 2 < 3:
        raise ParameterError("tile", tile, f"at most image_size / 2 = {image_size // 2} (a shuffle needs ≥ 3 tiles)")
    if isinstance(gutter, bool) or not isinstance(gutter, int) or not 0 <= 2 * gutter < tile:
        raise ParameterError("gutter", gutter, f"an integer in [0, {(tile - 1) // 2}] (a ring inside each {tile} px tile)")
    if tile % vit_patch:
        raise ParameterError("vit_patch", vit_patch, f"a divisor of tile={tile} (a tile shuffle must move whole ViT patches)")
    if vit_patch < 3:
        raise ParameterError("vit_patch", vit_patch, "an integer ≥ 3 (it also sets the local control's window, vit_patch − 1 px)")
    if vit_dim % vit_heads:
        raise ParameterError("vit_heads", vit_heads, f"a divisor of vit_dim={vit_dim}")
    if not 2 <= n_classes <= 8:
        raise ParameterError("n_classes", n_classes, "an integer in [2, 8]")
    check_in_interval("texture_correlation", texture_correlation, 0.0, 1.0, closed_high=True)
    check_positive("lr", lr)
    check_in_interval("distinguish_fraction", distinguish_fraction, 0.0, 1.0, closed_high=True)
    if isinstance(cnn_widths, str) or not len(cnn_widths):
        raise ParameterError("cnn_widths", cnn_widths, "a non-empty list of positive integers")
    for w in cnn_widths:
        check_positive_int("cnn_widths", w)
    check_choice("tie_policy", tie_policy, O.TIE_POLICIES)
    check_in_interval("tie_tol", tie_tol, 0.0, 1.0)
    for m in (*synthesis_models, *pretrained_models):
        check_choice("pretrained_models" if m in pretrained_models else "synthesis_models", m, REGISTRY)
    from cuelab.methods.texture import PACKAGE_IMAGES

    for im in synthesis_images:
        check_choice("synthesis_images", im, PACKAGE_IMAGES)
    if dist_limit is not None:
        check_positive_int("dist_limit", dist_limit)
    check_choice("pretrained_feature", pretrained_feature, ("paper", "pooled"))
    resolve_workers(workers, n_jobs=1)
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ParameterError("num_workers", num_workers, "an integer ≥ 0")


@dataclass(frozen=True)
class StudyConfig:
    """What the notebook's setup cell builds from its parameters (study_config)."""

    seeds: list[int]
    dis_seeds: list[int]
    nopos_seeds: list[int]
    local_seeds: list[int]
    archs: list[str]
    distinguish_regimes: list[str]
    spec: ShapeTexSpec
    zoo: ZooConfig
    scoring: ReleaseScoring
    n_workers: int
    weights_paths: dict[str, str]
    release: list | None
    release_root: Any = None

    def jobs(self) -> list[Job]:
        """Every network of the study as one job list: the seeing archs on every seed, vit-nopos on its seeds,
        the DiSTinguish runs, and the local-cue control (both regimes, plus one DiSTinguish run per seed)."""
        seeing = [a for a in self.archs if a != "vit-nopos"]
        jobs = zoo_jobs(seeing, REGIMES, self.seeds, distinguish_regimes=[])
        if "vit-nopos" in self.archs:
            jobs += zoo_jobs(["vit-nopos"], REGIMES, self.nopos_seeds, distinguish_regimes=[])
        if self.dis_seeds and self.distinguish_regimes:
            jobs += zoo_jobs(self.archs, [], self.dis_seeds, distinguish_regimes=self.distinguish_regimes)
        if self.local_seeds:
            jobs += zoo_jobs(["bagnet"], REGIMES, self.local_seeds, distinguish_regimes=["texture-correlated"])
        return jobs


def study_config(*, seed: int = 0, n_seeds: int = 3, distinguish_seeds: int = 1,
                 distinguish_regimes: Sequence[str] = ("texture-correlated",), archs: Sequence[str] = SEEING_ARCHS,
                 nopos_seeds: int = 1, local_control_seeds: int = 1, image_size: int = 32, tile: int = 16,
                 gutter: int = 3, vit_patch: int = 8, n_classes: int = 8, texture_correlation: float = 1.0,
                 n_train: int = 2400, epochs: int = 5, vit_epochs: int = 12, batch_size: int = 32, lr: float = 1e-3,
                 cnn_widths: Sequence[int] = (16, 32, 64, 64), vit_dim: int = 48, vit_depth: int = 2,
                 vit_heads: int = 4, distinguish_fraction: float = 0.5, n_cue_conflict: int = 800, n_test: int = 800,
                 n_triplets: int = 400, tie_policy: str = "fractional", tie_tol: float = 1e-9, n_boot: int = 1000,
                 dist_root: str | None = None, dist_limit: int | None = None,
                 weights_paths: dict[str, str] | None = None, workers: int | str = "auto",
                 release_batch_size: int = 32, num_workers: int = 0, **_: Any) -> StudyConfig:
    """The study's configuration from the notebook's parameters (call check_study_parameters first).

    Relative paths (dist_root, weights files) are read from the repository root; the release is found (and checked
    complete) now, so a wrong folder stops the run before any training. Parameters this does not use are accepted
    and ignored, so the notebook can pass all of its parameters.
    """
    from cuelab.paths import repo_root

    seeds = list(range(seed, seed + n_seeds))
    spec = ShapeTexSpec(image_size=image_size, patch=tile, gutter=gutter, n_classes=n_classes)
    zoo = ZooConfig(spec=spec, n_train=n_train, epochs=epochs, vit_epochs=vit_epochs, batch_size=batch_size, lr=lr,
                    correlation=texture_correlation, distinguish_fraction=distinguish_fraction,
                    cnn_widths=tuple(cnn_widths), vit_dim=vit_dim, vit_depth=vit_depth, vit_heads=vit_heads,
                    vit_patch=vit_patch, n_cue_conflict=n_cue_conflict, n_test=n_test, n_triplets=n_triplets,
                    tie_policy=tie_policy, tie_tol=tie_tol, n_boot=n_boot)
    archs = list(archs)
    n_jobs = 2 * len(seeds) * len(archs)
    resolved = {k: str(v if Path(v).is_absolute() else repo_root() / v) for k, v in (weights_paths or {}).items()}
    release, root = None, None
    if dist_root is not None:
        root = Path(dist_root) if Path(dist_root).is_absolute() else repo_root() / dist_root
        release = find_release(root, limit=dist_limit)
    return StudyConfig(
        seeds=seeds, dis_seeds=seeds[:distinguish_seeds], nopos_seeds=seeds[:nopos_seeds],
        local_seeds=seeds[:local_control_seeds], archs=archs, distinguish_regimes=list(distinguish_regimes),
        spec=spec, zoo=zoo, n_workers=resolve_workers(workers, n_jobs=n_jobs), weights_paths=resolved,
        scoring=ReleaseScoring(tie_policy=tie_policy, tie_tol=tie_tol, n_boot=n_boot, seed=seed,
                               batch_size=release_batch_size, num_workers=num_workers),
        release=release, release_root=root)


def study_results(study: StudyConfig, everything: pd.DataFrame, controls: pd.DataFrame, *,
                  release_models: pd.DataFrame | None = None, release_controls: pd.DataFrame | None = None,
                  synthesis: dict[str, float] | None = None, n_photos: int = 0, seed: int = 0):
    """What the claims read (cuelab.claims.global_shape.GsResults), from the notebook's tables, with every interval.

    everything: run_jobs's table of the zoo and the local-cue control (arch "bagnet"); controls: substitute_controls;
    release_models / release_controls: the release scorers' tables (None without the release).
    """
    from cuelab.claims.global_shape import GsResults

    cfg = study.zoo
    n_boot = cfg.n_boot
    zoo = everything[everything["arch"] != "bagnet"].reset_index(drop=True)
    local_zoo = everything[everything["arch"] == "bagnet"].reset_index(drop=True)
    groups = zoo.groupby(["arch", "regime", "distinguish"])
    med = groups[["shape_bias", "dist", "dist_paper_rule", "shape_only_acc"]].median()
    med["seeds"] = groups.size()
    regime = paired_effect(zoo, base=REGIME_CHANGE[0], treated=REGIME_CHANGE[1], n_boot=n_boot, seed=seed)
    dis_effects = {}
    for r in study.distinguish_regimes:
        base, treated = distinguish_change(r)
        dis_effects[r] = paired_effect(zoo, base=base, treated=treated, n_boot=n_boot, seed=seed)
    local, local_effect = None, None
    if len(local_zoo):
        local = {}
        for (g, d), rows in local_zoo.groupby(["regime", "distinguish"]):
            local[(g, bool(d))] = {"dist": level_estimate(rows, n_boot=n_boot, seed=seed),
                                   "shape_bias": float(rows["shape_bias"].median())}
        base, treated = distinguish_change("texture-correlated")
        eff = paired_effect(local_zoo, base=base, treated=treated, columns=("dist",), n_boot=n_boot, seed=seed)
        local_effect = eff.get("bagnet", {}).get("dist")
    vit_vs_cnn = None
    tc = zoo[(zoo["regime"] == "texture-correlated") & ~zoo["distinguish"]].set_index(["arch", "seed"])
    if {"cnn", "vit"} <= set(zoo["arch"]):
        both = sorted(set(tc.loc["cnn"].index) & set(tc.loc["vit"].index))
        vit_vs_cnn = nested_paired([tc.loc[("vit", s), "dist_credits"] for s in both],
                                   [tc.loc[("cnn", s), "dist_credits"] for s in both], inner="triplets",
                                   n_boot=n_boot, seed=seed)
    scored = pd.DataFrame()
    if release_models is not None and "dist" in release_models:
        scored = release_models[release_models["skipped"] == ""].set_index("name")
    bag = build_small("bagnet", cfg.spec.n_classes, patch=cfg.vit_patch)
    return GsResults(
        archs=list(study.archs), n_seeds=len(study.seeds), med=med, regime=regime, dis_effects=dis_effects,
        rho_zoo=spearman_over_seeds(zoo, n_boot=n_boot, seed=seed), n_zoo=len(zoo), controls=controls,
        tie_policy=cfg.tie_policy, n_triplets=cfg.n_triplets, dis_seeds=len(study.dis_seeds), scored=scored,
        release_n=0 if study.release is None else len(study.release), release_controls=release_controls,
        synthesis=dict(synthesis or {}), n_photos=n_photos, local=local, local_effect=local_effect,
        local_rf=bag.receptive_field, tile=cfg.spec.patch, gutter=cfg.spec.gutter, local_seeds=len(study.local_seeds),
        vit_vs_cnn=vit_vs_cnn, local_blind=cfg.bag_pad_to_gutter and 2 * cfg.spec.gutter >= bag.receptive_field - 1)


def _checked_names() -> list[str]:
    import inspect

    return list(inspect.signature(check_study_parameters).parameters)


UNCHECKED_PARAMETERS = ("dist_root", "weights_paths", "device")  # checked where used (study_config, load_pretrained)


def notebook_parameters(namespace: dict[str, Any]) -> dict[str, Any]:
    """The study's parameters picked out of a namespace (the notebook's globals() after its parameters cell)."""
    names = [*_checked_names(), *UNCHECKED_PARAMETERS]
    missing = [n for n in names if n not in namespace]
    if missing:
        raise ParameterError("parameters", missing, "all defined in the notebook's parameters cell")
    return {n: namespace[n] for n in names}


def checkable(parameters: dict[str, Any]) -> dict[str, Any]:
    """The part of the parameters that check_study_parameters takes (the names in its signature)."""
    return {n: parameters[n] for n in _checked_names() if n in parameters}
