"""Global shape (DiST): train a small model zoo on shape × texture images, measure cue-conflict shape bias and
DiST accuracy on the tile-shuffle substitute; score pretrained models and the controls on the official release.

The zoo: architectures ("cnn", "vit", "vit-nopos") × training regimes ("texture-correlated",
"style-randomised") × seeds, plus DiSTinguish variants (a 2K-way head: tile-shuffled images of class k are
class k′ = k + K). Every network is measured on the same evaluation sets, built from the notebook's seed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from cuelab.data.dist import DistTriplets, ReleaseDataset, make_substitute, random_tile_shuffles
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
from cuelab.parallel import map_jobs
from cuelab.params import ParameterError, check_choice, check_in_interval, check_positive, check_positive_int
from cuelab.training import Classifier, fit


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


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, num_classes: int, batch_size: int = 512) -> torch.Tensor:
    """Class decisions among the K original classes (a DiSTinguish head's k′ outputs are ignored)."""
    model.eval()
    device = next(model.parameters()).device
    logits = torch.cat([model(x[i : i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)])
    return original_class_logits(logits, num_classes).argmax(dim=1)


def evaluate(model: torch.nn.Module, sets: EvalSets, config: ZooConfig, *, seed: int = 0) -> dict[str, float]:
    """Shape bias, accuracies, and DiST accuracy (the configured tie policy and the paper's) of one network."""
    k = config.spec.n_classes
    sb = shape_bias(predict(model, sets.cue.x, k), sets.cue.shape, sets.cue.texture)
    feats = O.model_features(model, sets.triplets.images)
    main = O.score_features(feats, config.tie_policy, tie_tol=config.tie_tol, n_boot=config.n_boot, seed=seed)
    paper = O.score_features(feats, "first", tie_tol=config.tie_tol, n_boot=config.n_boot, seed=seed)
    return {
        "shape_bias": sb.shape_bias,
        "shape_decisions": sb.shape_fraction,
        "texture_decisions": sb.texture_fraction,
        "clean_acc": float((predict(model, sets.clean.x, k) == sets.clean.y).double().mean()),
        "shape_only_acc": float((predict(model, sets.shape_only.x, k) == sets.shape_only.y).double().mean()),
        "dist": main.accuracy,
        "dist_low": main.ci_low,
        "dist_high": main.ci_high,
        "dist_paper_rule": paper.accuracy,
        "dist_ties": main.ties,
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


def paired_delta(zoo: pd.DataFrame, column: str, *, base: dict[str, Any], treated: dict[str, Any]) -> pd.DataFrame:
    """Per arch and seed: column under `treated` minus under `base` (rows selected by equality on columns)."""

    def pick(sel: dict[str, Any]) -> pd.Series:
        mask = np.ones(len(zoo), dtype=bool)
        for k, v in sel.items():
            mask &= (zoo[k] == v).to_numpy()
        return zoo[mask].set_index(["arch", "seed"])[column]

    return (pick(treated) - pick(base)).dropna().rename(f"Δ{column}").reset_index()


def regime_effect(zoo: pd.DataFrame) -> pd.DataFrame:
    """Per arch: median over seeds of Δshape bias and ΔDiST, style-randomised − texture-correlated (no DiSTinguish)."""
    base = {"regime": "texture-correlated", "distinguish": False}
    treated = {"regime": "style-randomised", "distinguish": False}
    sb = paired_delta(zoo, "shape_bias", base=base, treated=treated)
    dist = paired_delta(zoo, "dist", base=base, treated=treated)
    both = sb.merge(dist, on=["arch", "seed"])
    out = both.groupby("arch")[["Δshape_bias", "Δdist"]].median()
    out["seeds"] = both.groupby("arch").size()
    return out


def distinguish_effect(zoo: pd.DataFrame, regime: str = "style-randomised") -> pd.DataFrame:
    """Per arch: median over seeds of ΔDiST and Δshape bias from adding the DiSTinguish head (same regime)."""
    base = {"regime": regime, "distinguish": False}
    treated = {"regime": regime, "distinguish": True}
    dist = paired_delta(zoo, "dist", base=base, treated=treated)
    sb = paired_delta(zoo, "shape_bias", base=base, treated=treated)
    both = dist.merge(sb, on=["arch", "seed"])
    out = both.groupby("arch")[["Δdist", "Δshape_bias"]].median()
    out["seeds"] = both.groupby("arch").size()
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (NaN when either side is constant or has < 3 points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(stats.spearmanr(x[ok], y[ok]).statistic)


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


def _scores_over(
    dataset: ReleaseDataset, featurise, *, batch_size: int, num_workers: int, desc: str
) -> dict[str, np.ndarray]:
    """Oddity scores (n, 3) per feature kind, computed batch by batch (features are never all held at once)."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, shuffle=False)
    out: dict[str, list[np.ndarray]] = {}
    for batch in tqdm(loader, desc=desc):
        for name, feats in featurise(batch).items():
            out.setdefault(name, []).append(O.oddity_scores(feats))
    return {k: np.concatenate(v) for k, v in out.items()}


def _summarise(scores: np.ndarray, tie_policy: str, tie_tol: float, n_boot: int, seed: int) -> dict[str, float]:
    c = O.credit(scores, tie_policy, tie_tol=tie_tol, seed=seed)
    paper = O.credit(scores, "first", tie_tol=tie_tol, seed=seed)
    low, high = O.bootstrap_ci(c, n_boot=n_boot, seed=seed)
    return {
        "dist": float(c.mean()),
        "dist_low": low,
        "dist_high": high,
        "dist_paper_rule": float(paper.mean()),
        "n": int(c.size),
    }


def score_release_controls(
    dataset: ReleaseDataset,
    *,
    tie_policy: str = "fractional",
    tie_tol: float = 1e-9,
    n_boot: int = 2000,
    seed: int = 0,
    batch_size: int = 64,
    num_workers: int = 0,
) -> pd.DataFrame:
    """The model-free controls on the release's 224 × 224 crops (eval.py's preprocessing, before normalising)."""
    start = time.perf_counter()
    scores = _scores_over(dataset, O.control_features, batch_size=batch_size, num_workers=num_workers, desc="controls")
    seconds = round(time.perf_counter() - start, 1)  # all three controls together (one pass over the images)
    return pd.DataFrame([{"control": k, **_summarise(v, tie_policy, tie_tol, n_boot, seed), "seconds": seconds}
                         for k, v in scores.items()])


def score_release_models(
    dataset: ReleaseDataset,
    names: Sequence[str],
    *,
    device: str = "auto",
    feature: str = "paper",
    weights_paths: dict[str, str] | None = None,
    pretrained: bool = True,
    tie_policy: str = "fractional",
    tie_tol: float = 1e-9,
    n_boot: int = 2000,
    seed: int = 0,
    batch_size: int = 64,
    num_workers: int = 0,
) -> pd.DataFrame:
    """DiST accuracy of registry models on the release; models that cannot be loaded get a row saying why.

    pretrained=False scores randomly initialised architectures (no download; for tests).
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

        @torch.no_grad()
        def featurise(batch: torch.Tensor, model=model, dev=dev) -> dict[str, torch.Tensor]:
            flat = batch.reshape(-1, *batch.shape[2:]).to(dev)
            return {"model": model(flat).float().cpu().reshape(batch.shape[0], 3, -1)}

        scores = _scores_over(dataset, featurise, batch_size=batch_size, num_workers=num_workers, desc=name)["model"]
        rows.append({**base, **_summarise(scores, tie_policy, tie_tol, n_boot, seed), "skipped": "",
                     "seconds": round(time.perf_counter() - start, 1)})
        del model
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return pd.DataFrame(rows)


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
            for n in tqdm(names, desc="texture synthesis", disable=not progress)
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
