"""Full-batch GD of a two-layer ReLU net on noisy XOR clusters, measured step by step."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

import functools

from cuelab.data.xor import XorDataModule, XorSpec, cluster_axis_and_sign, draw_xor
from cuelab.methods.agreement import accuracy, one_step_linear_direction, sign_agreement, sign_labels
from cuelab.methods.alignment import alignment_ratio_from_projections, project_neurons, unit
from cuelab.methods.gram_gd import GramProblem, GramState, gram_gd, outputs
from cuelab.models.two_layer import TwoLayerReLU
from cuelab.params import ParameterError, check_choice, check_positive, check_positive_int
from cuelab.progress import bar
from cuelab.seeding import generator, seed_everything
from cuelab.training import Classifier, StepRecorder, fit


ENGINES = ("gram", "lightning")


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
    engine: str = "gram"  # "gram": exact GD in the span of X (cuelab.methods.gram_gd); "lightning": the reference

    def __post_init__(self) -> None:
        check_choice("engine", self.engine, ENGINES)
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
    test_plane: pd.DataFrame | None = None  # test points' ⟨x, μ̂1⟩, ⟨x, μ̂2⟩ and clean label


def log_spaced_steps(total: int, dense_until: int = 10, per_decade: int = 12) -> tuple[int, ...]:
    """0..dense_until, then about per_decade steps per decade up to total (always included)."""
    total = check_positive_int("total", total)
    dense = set(range(min(dense_until, total) + 1))
    sparse = np.unique(np.round(np.geomspace(1, total, max(2, int(per_decade * np.log10(total)) + 1))).astype(int))
    return tuple(sorted(dense | set(sparse.tolist()) | {total}))


def _row(out_train: torch.Tensor, out_test: torch.Tensor, proj: torch.Tensor, sign: torch.Tensor,
         t: dict[str, torch.Tensor]) -> dict[str, Any]:
    """One step's measurements from the outputs on train and test points and the neuron projections (m, 2)."""
    pred_train, pred_test = sign_labels(out_train), sign_labels(out_test)
    y = t["y_train"]
    row = {
        "loss": float(torch.nn.functional.softplus(-y.to(out_train.dtype) * out_train.reshape(-1)).mean()),
        "max_abs_output": float(out_train.abs().max()),
        "train_acc": accuracy(pred_train, y),
        "train_acc_flipped": accuracy(pred_train, y, t["flipped"]),
        "train_acc_unflipped": accuracy(pred_train, y, ~t["flipped"]),
        "test_acc": accuracy(pred_test, t["y_test"]),
        "linear_agreement": sign_agreement(out_test, t["linear_test"]),
        "random_linear_agreement": sign_agreement(out_test, t["random_test"]),
        "alignment_ratio": alignment_ratio_from_projections(proj, sign),
    }
    for k in range(4):
        row[f"test_acc_cluster{k}"] = accuracy(pred_test, t["y_test"], t["cluster"] == k)
    return row


def _tensors(data: XorDataModule, seed: int) -> dict[str, torch.Tensor]:
    train, test = data.train, data.test
    # XOR-3's control: agreement with a random linear direction instead of Σ y_i x_i
    random_dir = torch.randn(data.spec.dim, generator=generator(20_000 + seed), dtype=train.x.dtype)
    return dict(
        y_train=train.y, flipped=train.flipped, y_test=test.y_clean, cluster=test.cluster,
        linear_test=test.x @ one_step_linear_direction(train.x, train.y), random_test=test.x @ random_dir,
    )


def _snapshot(proj: torch.Tensor, sign: torch.Tensor) -> pd.DataFrame:
    proj = proj.cpu().numpy()
    return pd.DataFrame({"proj_mu1": proj[:, 0], "proj_mu2": proj[:, 1], "sign": sign.cpu().numpy()})


def _test_plane(data: XorDataModule, mu: tuple[torch.Tensor, torch.Tensor]) -> pd.DataFrame:
    x = data.test.x
    return pd.DataFrame({"u": (x @ unit(mu[0])).numpy(), "v": (x @ unit(mu[1])).numpy(),
                         "y_clean": data.test.y_clean.numpy(), "cluster": data.test.cluster.numpy()})


def _wanted(config: XorRunConfig) -> set[int] | None:
    if config.record_steps is None:
        return None
    return set(config.record_steps) | set(config.snapshot_steps) | {0, config.steps}


def run_xor(config: XorRunConfig, seed: int, *, keep_model: bool = False) -> XorRun:
    """Train one network with full-batch GD (float64) and record the per-step measurements.

    config.engine="gram" runs exact GD in the span of the training inputs (cuelab.methods.gram_gd);
    "lightning" runs the reference: torch SGD on the weights, driven by a Lightning Trainer. Both start
    from the same data and weights and produce the same iterates (tests/test_xor_engine.py).
    """
    seed_everything(seed)
    if config.engine == "gram" and not keep_model:
        rows, snapshots, test_plane = _run_gram(config, seed)
        return XorRun(seed, config, _trajectory(rows, seed), snapshots, test_plane=test_plane)
    data = XorDataModule(config.spec, config.n_train, config.n_test, seed=seed)
    net = TwoLayerReLU(config.spec.dim, config.width, config.init_std, generator=generator(10_000 + seed))
    mu = config.spec.means()
    if config.engine == "gram":  # keep_model: the same run, then W_T = W_0 + C_T X rebuilt from its coefficients
        rows, snapshots, test_plane, c = _run_gram(config, seed, return_c=True)
        with torch.no_grad():
            net.weight.add_(c @ data.train.x)
    else:
        rows, snapshots = _run_lightning(config, data, net, mu, _tensors(data, seed))
    return XorRun(seed, config, _trajectory(rows, seed), snapshots, model=net if keep_model else None,
                  data=data if keep_model else None, test_plane=_test_plane(data, mu))


def _trajectory(rows: list[dict[str, Any]], seed: int) -> pd.DataFrame:
    trajectory = pd.DataFrame(rows)
    trajectory.insert(0, "seed", seed)
    return trajectory


@dataclass(frozen=True)
class _SeedBasis:
    """One seed's draws reduced to what GD in the span of X needs, for any ‖μ‖ and η of this dim.

    With x = ‖μ‖·s·e_axis + noise, every inner product splits into a noise part (computed here, once: the only
    p-sized work) and a part in ‖μ‖ read off the noise's two first coordinates. The main runs, the α/10 and
    delayed runs and the η × SNR sweep of a seed all reuse one basis.
    """

    a: torch.Tensor  # (m,) second layer
    w0_noise: torch.Tensor  # (m, n + n_test): W0 [N_train; N_test]ᵀ
    w0_axes: torch.Tensor  # (m, 2): W0 e1, W0 e2
    noise_gram: torch.Tensor  # (n, n + n_test): N_train [N_train; N_test]ᵀ
    noise_axes: torch.Tensor  # (n + n_test, 2): the noise's first two coordinates
    noise_random: torch.Tensor  # (n_test,): N_test r for XOR-3's random direction r
    random_axes: torch.Tensor  # (2,): r1, r2
    cluster: torch.Tensor  # (n + n_test,)
    uniform: torch.Tensor  # (n,): flip draws of the training points


@functools.lru_cache(maxsize=128)  # ~3.5 MB a seed at the paper's size
def _seed_basis(dim: int, n_train: int, n_test: int, width: int, init_std: float, seed: int) -> _SeedBasis:
    train, test = draw_xor(dim, n_train, 2 * seed), draw_xor(dim, n_test, 2 * seed + 1)  # XorDataModule's streams
    net = TwoLayerReLU(dim, width, init_std, generator=generator(10_000 + seed))
    random_dir = torch.randn(dim, generator=generator(20_000 + seed), dtype=torch.float64)
    noise = torch.cat([train.noise, test.noise])
    with torch.no_grad():
        w0 = net.weight.detach()
        basis = _SeedBasis(
            a=net.a.clone(), w0_noise=w0 @ noise.T, w0_axes=w0[:, :2].clone(),
            noise_gram=train.noise @ noise.T, noise_axes=noise[:, :2].clone(),
            noise_random=test.noise @ random_dir, random_axes=random_dir[:2].clone(),
            cluster=torch.cat([train.cluster, test.cluster]), uniform=train.uniform,
        )
    return basis


def _gram_problem(config: XorRunConfig, seed: int) -> tuple[GramProblem, dict[str, torch.Tensor], pd.DataFrame]:
    """The run's GramProblem, measurement tensors and test plane, assembled from the seed's basis."""
    spec, n = config.spec, config.n_train
    b = _seed_basis(spec.dim, n, config.n_test, config.width, config.init_std, seed)
    mu = spec.mu_norm
    axis, sgn = cluster_axis_and_sign(b.cluster)
    sgn = sgn.to(torch.float64)
    e = torch.zeros(len(axis), 2, dtype=torch.float64)  # centre directions in the (e1, e2) plane
    e[torch.arange(len(axis)), axis] = sgn
    xa = mu * e + b.noise_axes  # ⟨x, e1⟩, ⟨x, e2⟩ for train and test points
    # X_train [X_train; X_test]ᵀ = N Nᵀ + ‖μ‖ (N Eᵀ + E Nᵀ) + ‖μ‖² E Eᵀ, with N Eᵀ read off the noise's axes
    ne = b.noise_axes[:n] @ e.T  # N_train Eᵀ
    en = e[:n] @ b.noise_axes.T  # E_train Nᵀ
    gram_all = b.noise_gram + mu * (ne + en) + mu**2 * (e[:n] @ e.T)
    w0x = b.w0_noise + mu * (b.w0_axes @ e.T)  # W0 [X_train; X_test]ᵀ
    y_clean = torch.where(b.cluster < 2, 1, -1)
    flipped = b.uniform < spec.noise_rate
    y = torch.where(flipped, -y_clean[:n], y_clean[:n])
    eye = torch.eye(2, dtype=torch.float64)  # readout of the unit directions μ̂1 = e1, μ̂2 = e2
    problem = GramProblem(
        p0=w0x[:, :n].contiguous(), gram=gram_all[:, :n].contiguous(), y=y.to(torch.float64), a=b.a,
        readouts={"test": (w0x[:, n:].contiguous(), gram_all[:, n:].contiguous()), "proj": (b.w0_axes @ eye, xa[:n] @ eye)},
    )
    cross = gram_all[:, n:]
    t = dict(
        y_train=y, flipped=flipped, y_test=y_clean[n:], cluster=b.cluster[n:],
        linear_test=cross.T @ y.to(torch.float64),  # X_test Σ y_i x_i
        random_test=b.noise_random + mu * sgn[n:] * b.random_axes[axis[n:]],
    )
    plane = pd.DataFrame({"u": xa[n:, 0].numpy(), "v": xa[n:, 1].numpy(), "y_clean": y_clean[n:].numpy(),
                          "cluster": b.cluster[n:].numpy()})
    return problem, t, plane


def _run_gram(config: XorRunConfig, seed: int, return_c: bool = False):
    problem, t, plane = _gram_problem(config, seed)
    sign = torch.sign(problem.a).to(torch.int64)
    snapshot_steps = set(config.snapshot_steps)
    rows: list[dict[str, Any]] = []
    snapshots: dict[int, pd.DataFrame] = {}

    def on_step(state: GramState) -> None:
        proj = problem.readout("proj", state.c)
        out_test = outputs(problem.readout("test", state.c), problem.a)
        rows.append({"step": state.step, **_row(state.out, out_test, proj, sign, t)})
        if state.step in snapshot_steps:
            snapshots[state.step] = _snapshot(proj, sign)

    final = gram_gd(problem, config.step_size, config.steps, on_step, record=_wanted(config))
    return (rows, snapshots, plane, final.c) if return_c else (rows, snapshots, plane)


def _run_lightning(config, data, net, mu, t):
    module = Classifier(net, loss="logistic", optimizer="sgd", lr=config.step_size)
    x_train, x_test = data.train.x, data.test.x
    snapshot_steps = set(config.snapshot_steps)
    snapshots: dict[int, pd.DataFrame] = {}
    on_device: dict[torch.device, dict[str, torch.Tensor]] = {}

    def measure(module: Classifier, step: int) -> dict[str, Any]:
        model: TwoLayerReLU = module.model
        device = model.weight.device
        if device not in on_device:  # the data stay on the CPU; a GPU run measures copies made once per device
            on_device[device] = {k: v.to(device) for k, v in
                                 dict(t, x_train=x_train, x_test=x_test, mu1=mu[0], mu2=mu[1]).items()}
        d = on_device[device]
        proj = project_neurons(model.weight, [d["mu1"], d["mu2"]])
        if step in snapshot_steps:
            snapshots[step] = _snapshot(proj, model.neuron_sign)
        return _row(model(d["x_train"]), model(d["x_test"]), proj, model.neuron_sign, d)

    recorder = StepRecorder(measure, steps=_wanted(config))
    fit(module, data, max_epochs=config.steps, precision="64-true", callbacks=[recorder])
    net.cpu()
    return recorder.rows, snapshots


def run_seeds(
    config: XorRunConfig, seeds: Iterable[int], *, keep_model: bool = False, desc: str = "seeds", progress: bool = True
) -> list[XorRun]:
    """run_xor over seeds, with one progress bar."""
    seeds = list(seeds)
    return [run_xor(config, s, keep_model=keep_model) for s in bar(seeds, desc=desc, disable=not progress)]


def stack(runs: Sequence[XorRun]) -> pd.DataFrame:
    """All runs' trajectories in one long table (a `seed` column tells them apart)."""
    return pd.concat([r.trajectory for r in runs], ignore_index=True)


def summarise(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per step: median, min, max, quartiles and the 20–80% band (the paper's Fig. 1) of column over seeds."""
    g = table.groupby("step")[column]
    return pd.DataFrame(
        {"median": g.median(), "min": g.min(), "max": g.max(), "q20": g.quantile(0.2), "q25": g.quantile(0.25),
         "q75": g.quantile(0.75), "q80": g.quantile(0.8)}
    )


def check_study_parameters(*, steps: int, scaling_steps: int, delayed_steps: int, delayed_chance_step: int,
                           n_seeds: int, delayed_seeds: int, phase_seeds: int) -> None:
    """The notebook's parameters, checked together: a combination that cannot be measured raises ParameterError
    naming both parameters (instead of a KeyError deep in a table lookup)."""
    for name, value in dict(steps=steps, scaling_steps=scaling_steps, delayed_steps=delayed_steps,
                            delayed_chance_step=delayed_chance_step, n_seeds=n_seeds, delayed_seeds=delayed_seeds,
                            phase_seeds=phase_seeds).items():
        check_positive_int(name, value)
    if steps < scaling_steps:
        raise ParameterError("steps", steps, f"≥ scaling_steps (= {scaling_steps}): the α/10 comparison reads the "
                             "main runs at t = 1 … scaling_steps; raise steps or lower scaling_steps")
    if delayed_chance_step > delayed_steps:
        raise ParameterError("delayed_chance_step", delayed_chance_step, f"≤ delayed_steps (= {delayed_steps}): "
                             "it is a step of the delayed runs; raise delayed_steps or lower delayed_chance_step")


def delayed_record_steps(total: int, extra: Iterable[int] = ()) -> tuple[int, ...]:
    """The delayed runs' recorded steps: every step to 100, every 5th to 500, every 10th after, and extra.

    Dense enough to read the step at which a median curve first reaches a level (XOR-10, 12, 13) to within 10 steps
    past t = 500 and 5 before; each recorded step costs about one GD step of measurement."""
    total = check_positive_int("total", total)
    steps = set(range(0, min(total, 100) + 1)) | set(range(100, min(total, 500) + 1, 5)) | set(range(500, total + 1, 10))
    return tuple(sorted(steps | {s for s in extra if 0 <= s <= total} | {total}))


@dataclass(frozen=True)
class XorStudyConfig:
    """The study's run configurations, built from the notebook's parameters by `study_config`."""

    seeds: list[int]
    spec: XorSpec
    main: XorRunConfig  # Fig. 1 left, 2, 3: every step recorded, projections kept at every step
    scaling: XorRunConfig  # XOR-9: α/10 for 10× as many steps
    delayed: XorRunConfig  # Fig. 1 right, 4: α = delayed_step_size
    delayed_seeds: list[int]
    phase_seeds: list[int]
    fig4_steps: list[int]


def study_config(*, seed: int = 0, n_seeds: int, engine: str = "gram", dim: int, n_train: int, n_test: int,
                 width: int, noise_rate: float, snr: float, init_std: float, step_size: float, steps: int,
                 scaling_steps: int, delayed_step_size: float, delayed_steps: int, delayed_seeds: int,
                 delayed_chance_step: int, phase_seeds: int, paper_steps: Iterable[int] = ()) -> XorStudyConfig:
    """The configuration objects of the notebook's runs, from its parameters (checked by check_study_parameters).

    paper_steps: steps the delayed runs must record besides the dense grid (the paper's figure steps)."""
    check_study_parameters(steps=steps, scaling_steps=scaling_steps, delayed_steps=delayed_steps,
                           delayed_chance_step=delayed_chance_step, n_seeds=n_seeds, delayed_seeds=delayed_seeds,
                           phase_seeds=phase_seeds)
    spec = XorSpec.from_snr(dim=dim, n_train=n_train, snr=snr, noise_rate=noise_rate)
    main = XorRunConfig(spec=spec, n_train=n_train, n_test=n_test, width=width, init_std=init_std,
                        step_size=step_size, steps=steps, snapshot_steps=tuple(range(steps + 1)), engine=engine)
    scaling = main.with_(step_size=step_size / 10, steps=10 * scaling_steps, snapshot_steps=(),
                         record_steps=tuple(range(1, scaling_steps + 1)) + tuple(range(10, 10 * scaling_steps + 1, 10)))
    fig4_steps = list(dict.fromkeys(s for s in (0, 50, 500, 1000, 2000, delayed_steps) if s <= delayed_steps))
    delayed = main.with_(step_size=delayed_step_size, steps=delayed_steps, snapshot_steps=tuple(fig4_steps),
                         record_steps=delayed_record_steps(delayed_steps, {delayed_chance_step, *paper_steps}))
    seeds = list(range(seed, seed + n_seeds))
    return XorStudyConfig(seeds=seeds, spec=spec, main=main, scaling=scaling, delayed=delayed,
                          delayed_seeds=seeds[:delayed_seeds], phase_seeds=list(range(seed, seed + phase_seeds)),
                          fig4_steps=fig4_steps)


def projection_table(runs: Sequence[XorRun], steps: Iterable[int] | None = None) -> pd.DataFrame:
    """All runs' kept neuron projections (seed, step, proj_mu1, proj_mu2, sign) at the given steps (all kept if None)."""
    wanted = None if steps is None else set(steps)
    parts = [p.assign(seed=r.seed, step=s) for r in runs for s, p in r.projections.items() if wanted is None or s in wanted]
    if not parts:
        return pd.DataFrame(columns=["seed", "step", "proj_mu1", "proj_mu2", "sign"])
    return pd.concat(parts, ignore_index=True)[["seed", "step", "proj_mu1", "proj_mu2", "sign"]]


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
    with bar(total=len(points) * len(seeds), desc=desc) as progress:
        for point in points:
            config = _apply(base, point)
            for s in seeds:
                run = run_xor(config.with_(record_steps=(config.steps,), snapshot_steps=()), s)
                final = run.trajectory.iloc[-1].to_dict()
                rows.append({**point, **final})
                progress.update()
    return pd.DataFrame(rows)


def _apply(base: XorRunConfig, point: dict[str, Any]) -> XorRunConfig:
    spec_keys = {"noise_rate", "snr", "dim"}
    dim = point.get("dim", base.spec.dim)
    noise = point.get("noise_rate", base.spec.noise_rate)
    snr = point.get("snr", base.spec.mu_norm / np.sqrt(base.spec.dim / base.n_train))
    spec = XorSpec.from_snr(dim=dim, n_train=base.n_train, snr=snr, noise_rate=noise)
    others = {k: v for k, v in point.items() if k not in spec_keys}
    return base.with_(spec=spec, **others)
