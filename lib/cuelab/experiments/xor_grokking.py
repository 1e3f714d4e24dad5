"""Full-batch GD of a two-layer ReLU net on noisy XOR clusters, measured step by step."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from cuelab.data.xor import XorDataModule, XorSpec
from cuelab.methods.agreement import accuracy, one_step_linear_direction, sign_agreement, sign_labels
from cuelab.methods.alignment import alignment_ratio, project_neurons
from cuelab.models.two_layer import TwoLayerReLU
from cuelab.params import check_positive, check_positive_int
from cuelab.seeding import generator, seed_everything
from cuelab.training import Classifier, StepRecorder, fit


@dataclass(frozen=True)
class XorRunConfig:
    """One training run: data, network, GD step size and length, what to record."""

    spec: XorSpec = field(default_factory=XorSpec)
    n_train: int = 200
    n_test: int = 500
    width: int = 128
    init_std: float = 1e-15
    step_size: float = 1e-12
    steps: int = 30
    record_steps: tuple[int, ...] | None = None  # None: every step
    snapshot_steps: tuple[int, ...] = ()  # steps at which neuron projections are kept

    def __post_init__(self) -> None:
        check_positive_int("n_train", self.n_train)
        check_positive_int("n_test", self.n_test)
        check_positive_int("width", self.width)
        check_positive("init_std", self.init_std)
        check_positive("step_size", self.step_size)
        check_positive_int("steps", self.steps)

    def with_(self, **changes: Any) -> "XorRunConfig":
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass
class XorRun:
    """What one seed produced: the per-step table, neuron projections, and (optionally) model and data."""

    seed: int
    config: XorRunConfig
    trajectory: pd.DataFrame
    projections: dict[int, pd.DataFrame]
    model: TwoLayerReLU | None = None
    data: XorDataModule | None = None


def log_spaced_steps(total: int, dense_until: int = 10, per_decade: int = 12) -> tuple[int, ...]:
    """0..dense_until, then about per_decade steps per decade up to total (always included)."""
    total = check_positive_int("total", total)
    dense = set(range(min(dense_until, total) + 1))
    sparse = np.unique(np.round(np.geomspace(1, total, max(2, int(per_decade * np.log10(total)) + 1))).astype(int))
    return tuple(sorted(dense | set(sparse.tolist()) | {total}))


def _measure(data: XorDataModule, mu: tuple[torch.Tensor, torch.Tensor], linear_test: torch.Tensor):
    on_device: dict[torch.device, dict[str, torch.Tensor]] = {}

    def tensors(device: torch.device) -> dict[str, torch.Tensor]:
        # The data stay on the CPU; a GPU run measures copies made once per device.
        if device not in on_device:
            train, test = data.train, data.test
            on_device[device] = {
                k: v.to(device)
                for k, v in dict(
                    x_train=train.x, y_train=train.y, flipped=train.flipped, x_test=test.x, y_test=test.y_clean,
                    cluster=test.cluster, mu1=mu[0], mu2=mu[1], linear_test=linear_test,
                ).items()
            }
        return on_device[device]

    def measure(module: Classifier) -> dict[str, Any]:
        net: TwoLayerReLU = module.model
        t = tensors(net.weight.device)
        out_train, out_test = net(t["x_train"]), net(t["x_test"])
        pred_train, pred_test = sign_labels(out_train), sign_labels(out_test)
        row = {
            "loss": float(module.loss(out_train, t["y_train"])),
            "max_abs_output": float(out_train.abs().max()),
            "train_acc": accuracy(pred_train, t["y_train"]),
            "train_acc_flipped": accuracy(pred_train, t["y_train"], t["flipped"]),
            "train_acc_unflipped": accuracy(pred_train, t["y_train"], ~t["flipped"]),
            "test_acc": accuracy(pred_test, t["y_test"]),
            "linear_agreement": sign_agreement(out_test, t["linear_test"]),
            "alignment_ratio": alignment_ratio(net.weight, net.neuron_sign, t["mu1"], t["mu2"]),
        }
        for k in range(4):
            row[f"test_acc_cluster{k}"] = accuracy(pred_test, t["y_test"], t["cluster"] == k)
        return row

    return measure


def run_xor(config: XorRunConfig, seed: int, *, keep_model: bool = False) -> XorRun:
    """Train one network with full-batch GD (float64) and record the per-step measurements."""
    seed_everything(seed)
    data = XorDataModule(config.spec, config.n_train, config.n_test, seed=seed)
    net = TwoLayerReLU(config.spec.dim, config.width, config.init_std, generator=generator(10_000 + seed))
    module = Classifier(net, loss="logistic", optimizer="sgd", lr=config.step_size)
    mu = config.spec.means()
    linear_test = data.test.x @ one_step_linear_direction(data.train.x, data.train.y)

    measure = _measure(data, mu, linear_test)
    snapshots: dict[int, pd.DataFrame] = {}
    snapshot_steps = set(config.snapshot_steps)

    def measure_and_snapshot(module: Classifier, step: int) -> dict[str, Any]:
        if step in snapshot_steps:
            weight = module.model.weight
            proj = project_neurons(weight, [m.to(weight.device) for m in mu]).cpu().numpy()
            snapshots[step] = pd.DataFrame(
                {"proj_mu1": proj[:, 0], "proj_mu2": proj[:, 1], "sign": module.model.neuron_sign.cpu().numpy()}
            )
        return measure(module)

    wanted = None if config.record_steps is None else set(config.record_steps) | snapshot_steps | {0, config.steps}
    recorder = StepRecorder(measure_and_snapshot, steps=wanted)
    fit(module, data, max_epochs=config.steps, precision="64-true", callbacks=[recorder])
    trajectory = pd.DataFrame(recorder.rows)
    trajectory.insert(0, "seed", seed)
    return XorRun(
        seed=seed,
        config=config,
        trajectory=trajectory,
        projections=snapshots,
        model=net.cpu() if keep_model else None,
        data=data if keep_model else None,
    )


def run_seeds(
    config: XorRunConfig, seeds: Iterable[int], *, keep_model: bool = False, desc: str = "seeds", progress: bool = True
) -> list[XorRun]:
    """run_xor over seeds, with one progress bar."""
    seeds = list(seeds)
    return [run_xor(config, s, keep_model=keep_model) for s in tqdm(seeds, desc=desc, disable=not progress)]


def stack(runs: Sequence[XorRun]) -> pd.DataFrame:
    """All runs' trajectories in one long table (a `seed` column tells them apart)."""
    return pd.concat([r.trajectory for r in runs], ignore_index=True)


def summarise(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per step: median, min, max and quartiles of column over seeds."""
    g = table.groupby("step")[column]
    return pd.DataFrame(
        {"median": g.median(), "min": g.min(), "max": g.max(), "q25": g.quantile(0.25), "q75": g.quantile(0.75)}
    )


def at_step(table: pd.DataFrame, column: str, step: int) -> pd.Series:
    """column at one step, one value per seed."""
    values = table.loc[table["step"] == step, ["seed", column]].set_index("seed")[column]
    if values.empty:
        raise KeyError(f"step {step} was not recorded")
    return values


def first_step_reaching(curve: pd.Series, threshold: float) -> int | None:
    """The first step (index of curve) whose value is ≥ threshold, or None."""
    hit = curve[curve >= threshold]
    return None if hit.empty else int(hit.index[0])


def sweep(
    base: XorRunConfig,
    grid: dict[str, Sequence[Any]],
    seeds: Iterable[int],
    *,
    desc: str = "sweep",
) -> pd.DataFrame:
    """Final-step measurements over a grid of `noise_rate`, `snr`, `dim` (spec) or config fields.

    Returns one row per (grid point, seed) with the grid values as columns.
    """
    seeds = list(seeds)
    keys = list(grid)
    points = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    rows = []
    with tqdm(total=len(points) * len(seeds), desc=desc) as bar:
        for point in points:
            config = _apply(base, point)
            for s in seeds:
                run = run_xor(config.with_(record_steps=(config.steps,), snapshot_steps=()), s)
                final = run.trajectory.iloc[-1].to_dict()
                rows.append({**point, **final})
                bar.update()
    return pd.DataFrame(rows)


def _apply(base: XorRunConfig, point: dict[str, Any]) -> XorRunConfig:
    spec_keys = {"noise_rate", "snr", "dim"}
    dim = point.get("dim", base.spec.dim)
    noise = point.get("noise_rate", base.spec.noise_rate)
    snr = point.get("snr", base.spec.mu_norm / np.sqrt(base.spec.dim / base.n_train))
    spec = XorSpec.from_snr(dim=dim, n_train=base.n_train, snr=snr, noise_rate=noise)
    others = {k: v for k, v in point.items() if k not in spec_keys}
    return base.with_(spec=spec, **others)
