"""The XOR test curve of your setting on the exact engine, beside the paper's Fig. 1 points.

`xor(width=..., init_std=..., step_size=..., noise_rate=...)` runs the xor_grokking study's two-layer ReLU network
with full-batch GD on noisy XOR clusters (cuelab.experiments.xor_grokking, engine "gram": exact GD in the span of
the training inputs) for each seed, and reports the median clean test accuracy per step with a bootstrap
interval over runs, beside the paper's Fig. 1 left (α = 1e-12) and right (α = 1e-16) medians and the notebook's own
setting run the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cuelab import claims as C
from cuelab import intervals
from cuelab.measure.common import Clock, Measurement, fmt, out_dir, say
from cuelab.measure.resolve import MeasureError

#: The notebook's smoke defaults (the paper's sizes, 20 runs) and α of Fig. 1 left.
DEFAULTS = dict(dim=40_000, n_train=200, n_test=200, width=1_000, noise_rate=0.05, snr=2.5, init_std=1e-15,
                step_size=1e-12, steps=30)


def _curve(config, seeds, desc: str) -> pd.DataFrame:
    from cuelab.experiments import xor_grokking as X

    say(f"{desc}: {len(seeds)} runs of {config.steps} GD steps …")
    runs = X.run_seeds(config, seeds, desc=desc, progress=False)
    return X.stack(runs)[["seed", "step", "test_acc", "train_acc"]]


def xor(*, width: int = DEFAULTS["width"], init_std: float = DEFAULTS["init_std"],
        step_size: float = DEFAULTS["step_size"], noise_rate: float = DEFAULTS["noise_rate"],
        snr: float = DEFAULTS["snr"], dim: int = DEFAULTS["dim"], n_train: int = DEFAULTS["n_train"],
        n_test: int = DEFAULTS["n_test"], steps: int = DEFAULTS["steps"], n_seeds: int = 10, seed: int = 0,
        reference: bool = True, out: str | Path | None = None, write: bool = True, figure: bool = True) -> Measurement:
    """Median test-accuracy curve of one XOR setting over n_seeds runs, beside Fig. 1 and the notebook's setting.

    reference: also run the notebook's own setting (skipped when yours is that setting: the two are one run).
    """
    from cuelab.claims.xor_grokking import FIG1_LEFT_TEST, FIG1_RIGHT_TEST, FIG1_RIGHT_SOURCE, FIG1_SOURCE
    from cuelab.data.xor import XorSpec
    from cuelab.experiments.xor_grokking import XorRunConfig

    clock = Clock()
    if int(n_seeds) < 2:
        raise MeasureError(f"n_seeds={n_seeds!r} is not accepted: at least 2 runs (the interval is over runs)")
    try:
        spec = XorSpec.from_snr(dim=dim, n_train=n_train, snr=snr, noise_rate=noise_rate)
        config = XorRunConfig(spec=spec, n_train=n_train, n_test=n_test, width=width, init_std=init_std,
                              step_size=step_size, steps=steps, engine="gram")
    except ValueError as err:
        raise MeasureError(str(err)) from err
    mine = dict(width=width, init_std=init_std, step_size=step_size, noise_rate=noise_rate, snr=snr, dim=dim,
                n_train=n_train, n_test=n_test, steps=steps)
    same = mine == DEFAULTS
    seeds = list(range(seed, seed + int(n_seeds)))
    per_run = 6e-10 * dim * width * (n_train + n_test) + 0.02 * steps + 0.2
    expected = per_run * len(seeds) * (1 if same or not reference else 2) + 2
    say(f"XOR test curve of width {width}, init std {init_std:g}, step size {step_size:g}, noise rate {noise_rate:g} "
        f"(p = {dim:,}, n = {n_train}, SNR {snr:g}) over {len(seeds)} runs of {steps} steps"
        + ("" if same or not reference else ", beside the notebook's setting") + f". Expected time: about {expected:.0f} s")
    table_mine = _curve(config, seeds, "your setting")
    curves = {"yours": table_mine}
    if reference and not same:
        ref_spec = XorSpec.from_snr(dim=DEFAULTS["dim"], n_train=DEFAULTS["n_train"], snr=DEFAULTS["snr"],
                                    noise_rate=DEFAULTS["noise_rate"])
        ref = XorRunConfig(spec=ref_spec, **{k: DEFAULTS[k] for k in ("n_train", "n_test", "width", "init_std",
                                                                        "step_size", "steps")}, engine="gram")
        curves["workbook"] = _curve(ref, seeds, "the notebook's setting")

    def median_at(t: pd.DataFrame, step: int) -> intervals.Estimate:
        return intervals.over_runs(t[t["step"] == step]["test_acc"].to_numpy(), unit="runs", seed=seed)

    paper = FIG1_LEFT_TEST if np.isclose(step_size, 1e-12) else FIG1_RIGHT_TEST if np.isclose(step_size, 1e-16) else {}
    paper_source = FIG1_SOURCE if np.isclose(step_size, 1e-12) else FIG1_RIGHT_SOURCE
    show = sorted({s for s in (1, 2, 4, 5, 7, 10, steps) if s <= steps} | {s for s in paper if s <= steps})
    rows = []
    for s in show:
        row = {"step": s, "yours": fmt(median_at(table_mine, s))}
        if "workbook" in curves:
            row["workbook (notebook's setting)"] = fmt(median_at(curves["workbook"], s))
        row["paper Fig. 1 left (α=1e-12)"] = FIG1_LEFT_TEST.get(s, np.nan)
        row["paper Fig. 1 right (α=1e-16)"] = FIG1_RIGHT_TEST.get(s, np.nan)
        rows.append(row)
    table = pd.DataFrame(rows)

    ct = C.ClaimTable("xor_grokking", profile="smoke", seed=seed)
    first, last = median_at(table_mine, 1), median_at(table_mine, steps)
    ct.add(C.decide(
        "MEASURE-XOR-1", "your setting groks: the median test accuracy is near chance at t = 1 and high by the last step",
        kind="extension", paper="Fig. 1 left: 0.505 at t = 1, 1.00 at t = 10", source=FIG1_SOURCE, measured=[first, last],
        rule=C.all_of(C.at_most(0.6, what="median test acc at t = 1"), C.at_least(0.9, what=f"median test acc at t = {steps}")),
        detail=f"median train accuracy at t = 1: {table_mine[table_mine['step'] == 1]['train_acc'].median():.3f}"))
    matched = [s for s in paper if 1 < s <= steps]
    if matched:
        gaps = [intervals.over_runs(table_mine[table_mine["step"] == s]["test_acc"].to_numpy(), unit="runs",
                                    seed=seed).map(lambda v, p=paper[s]: v - p) for s in matched]
        ct.add(C.decide(
            "MEASURE-XOR-2", "your curve follows the paper's Fig. 1 medians at its steps (within 0.10)",
            kind="extension", paper={str(s): paper[s] for s in matched}, source=paper_source, measured=gaps,
            rule=C.each(C.between(-0.10, 0.10, what="median − paper"), what="each of the paper's steps"),
            detail="steps " + ", ".join(map(str, matched))))
    else:
        ct.add(C.not_run("MEASURE-XOR-2", "your curve follows the paper's Fig. 1 medians at its steps (within 0.10)",
                         kind="extension", paper="Fig. 1 left (α=1e-12) or right (α=1e-16)", source=FIG1_SOURCE,
                         reason="the paper's Fig. 1 has medians only for step sizes 1e-12 and 1e-16 within these steps"))
    folder = out_dir("xor", f"w{width}-init{init_std:g}-lr{step_size:g}-eta{noise_rate:g}", out) if (write or figure) else None
    m = Measurement("xor", f"width {width}, init {init_std:g}, α {step_size:g}, η {noise_rate:g}", ct, table,
                    values={"median_test_acc": {int(s): median_at(table_mine, s) for s in range(steps + 1)}},
                    settings=mine | {"n_seeds": len(seeds), "seed": seed, "engine": "gram"}, expected_seconds=expected,
                    extra={"curves": curves})
    if figure:
        m.figure = draw(m, curves, folder)
    m.seconds = clock()
    if write:
        m.write(folder)
    return m


def draw(m: Measurement, curves: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Median test accuracy per step (band: 20–80% of runs, as Fig. 1), yours in red, with the paper's points."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from cuelab.claims.xor_grokking import FIG1_LEFT_TEST, FIG1_RIGHT_TEST
    from cuelab.plotting import save

    fig, ax = plt.subplots(figsize=(6.6, 4.2))
    for kind, t in curves.items():
        g = t.groupby("step")["test_acc"]
        colour = "crimson" if kind == "yours" else "tab:blue"
        ax.plot(g.median().index, g.median().to_numpy(), color=colour, lw=2,
                label=f"yours: {m.subject}" if kind == "yours" else "the notebook's setting (α = 1e-12)")
        ax.fill_between(g.median().index, g.quantile(0.2).to_numpy(), g.quantile(0.8).to_numpy(), color=colour, alpha=0.2)
    steps = int(curves["yours"]["step"].max())
    for pts, marker, label in ((FIG1_LEFT_TEST, "D", "paper Fig. 1 left (α = 1e-12)"),
                               (FIG1_RIGHT_TEST, "s", "paper Fig. 1 right (α = 1e-16)")):
        xs = [s for s in pts if s <= steps]
        if xs:
            ax.scatter(xs, [pts[s] for s in xs], marker=marker, facecolors="none", edgecolors="black", zorder=5, label=label)
    ax.axhline(0.5, color="grey", ls=":", lw=1)
    ax.set(xlabel="GD step t", ylabel="clean test accuracy (median over runs)", ylim=(0.4, 1.02),
           title="XOR clusters: test accuracy per step (band: 20–80% of runs)")
    ax.legend(fontsize=7, loc="lower right")
    path = save(fig, folder, "xor_test_curve")
    plt.close(fig)
    return path
