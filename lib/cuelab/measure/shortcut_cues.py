"""WCST-ML cue preference of your architecture: the shortcut_cues study's measurement, pointed at any network.

`cue_preference(builder)` trains your architecture on the diagonal set of WCST-ML on colour-dSprites (every cue —
shape, scale, orientation, colour — at the same level, so any one of them solves the task) and scores it on each
cue's off-diagonal set (the cues disagree; the labels follow one cue): the cue whose off-diagonal accuracy is
highest is the one the network adopted. Beside yours, on the same sets and seeds: the study's own CNN (trained by
the study's own functions, experiments.shortcut_cues.train_on / preference_runs, on one WCST draw shared by the
seeds; the notebook draws one per seed) and a label-shuffled copy of your architecture (the measured chance). The paper's finding (the abstract): colour is the preferred cue on dSprites.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cuelab import claims as C
from cuelab import intervals
from cuelab.measure.common import Clock, Measurement, fmt, out_dir, say
from cuelab.measure.resolve import MeasureError, ResolvedModel, check_outputs, resolve_model

PAPER = "colour is preferred on dSprites; the paper gives no accuracies"
PAPER_SOURCE = "the paper's abstract (Scimeca et al., ICLR 2022); values not given"


def _builder_of(arch: str, resolution: int, model_config) -> ResolvedModel:
    from cuelab.experiments import shortcut_cues as X

    return ResolvedModel(f"workbook {arch}", "builder",
                         builder=lambda k, arch=arch: X.build_model(arch, resolution, k, model_config))


@torch.no_grad()
def _correct(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, bn_train_mode: bool = False) -> np.ndarray:
    was = model.training
    model.train(bn_train_mode)
    out = torch.cat([model(x[i : i + 512]).argmax(-1) for i in range(0, len(y), 512)])
    model.train(was)
    return (out == y).numpy().astype(float)


def _runs(resolved: ResolvedModel, wcst, config, seeds: Sequence[int], resolution: int, *, shuffle_labels: bool = False,
          desc: str) -> tuple[pd.DataFrame, dict[str, list[np.ndarray]], list[float]]:
    """Train one network per seed on the diagonal; (per-epoch frame, per-cue per-seed item correctness, train acc)."""
    from cuelab.experiments import shortcut_cues as X

    frames, items, train_acc = [], {c: [] for c in wcst.cues}, []
    for i, s in enumerate(seeds):
        say(f"{desc}: seed {s} ({i + 1}/{len(seeds)}) …")
        torch.manual_seed(s)  # the initial weights, as experiments.shortcut_cues.build_model(seed=s) draws them
        net = copy.deepcopy(resolved.module) if resolved.module is not None else resolved.build(wcst.n_levels,
                                                                                               resolution=resolution)
        model, t = X.train_on(wcst, "diagonal", "cnn", config, seed=s, resolution=resolution, model=net,
                              shuffle_labels=shuffle_labels)
        frames.append(t.assign(seed=s))
        for c in wcst.cues:
            items[c].append(_correct(model, *wcst.tensors(c), bn_train_mode=config.bn_train_eval))
        train_acc.append(float(_correct(model, *wcst.tensors("diagonal")).mean()))
    return pd.concat(frames, ignore_index=True), items, train_acc


def cue_preference(model: Any, *, cues: Sequence[str] = ("shape", "scale", "orientation", "color"), seed: int = 0,
                   n_seeds: int = 3, resolution: int = 32, dsprites_path: str | None = None, n_diagonal: int = 1500,
                   n_off_diagonal: int = 300, n_forced_off: int = 300, epochs: int = 5, lr: float = 1e-3,
                   batch_size: int = 64, reference: str | None = "cnn", cnn_widths: Sequence[int] = (16, 32, 64, 64),
                   hidden: Sequence[int] = (256, 256), chance: bool = True, out: str | Path | None = None,
                   write: bool = True, figure: bool = True) -> Measurement:
    """WCST-ML cue preference of a user's architecture beside the study's CNN and the measured chance.

    model: a builder (callable, "package.module:function", "timm:<name>", "torchvision:<name>") called as
    builder(num_classes[, resolution=...]) once per seed after torch.manual_seed(seed); an nn.Module is copied
    per seed (its seeds then differ only in data order). It must map (N, 3, resolution, resolution) images in
    [0, 1] to (N, num_classes) logits; a wrong output size is rejected before anything trains.
    reference: the study's architecture trained beside yours ("cnn", "mlp", "resnet", "vit"; None: none).
    The other parameters are named as the notebook's; seeds are seed, seed + 1, ….
    """
    from cuelab.data.dsprites import DSpritesSource
    from cuelab.data.wcst import build_wcst
    from cuelab.experiments import shortcut_cues as X

    clock = Clock()
    resolved = resolve_model(model, pretrained=False)
    if reference is not None and reference not in X.ARCHS:
        raise MeasureError(f"reference={reference!r} is not accepted: one of {', '.join(X.ARCHS)} or None")
    if int(n_seeds) < 1:
        raise MeasureError(f"n_seeds={n_seeds!r} is not accepted: at least 1")
    seeds = [seed + i for i in range(int(n_seeds))]
    from cuelab.data.dsprites import factor_table, KINDS as DS_KINDS
    from cuelab.data.wcst import cue_levels

    try:  # the number of levels from the factor table alone, so a wrong output size fails before images are drawn
        L_early = cue_levels(factor_table(), list(cues), dict(DS_KINDS))[2]
    except Exception as err:
        raise MeasureError(f"cues={list(cues)!r} is not accepted: {err}") from err
    torch.manual_seed(seed)
    early = copy.deepcopy(resolved.module) if resolved.module is not None else resolved.build(L_early, resolution=resolution)
    check_outputs(early, torch.rand(4, 3, resolution, resolution), L_early, label=resolved.label,
                  what=f"WCST-ML images ({L_early} levels per cue)")
    source = DSpritesSource(resolution, dsprites_path=dsprites_path)
    wcst = build_wcst(source.factors, source.kinds, source.images, list(cues), n_diagonal=n_diagonal,
                      n_off_diagonal=n_off_diagonal, n_forced_off=n_forced_off, seed=seed)
    L = wcst.n_levels
    x_probe, y_probe = wcst.tensors("diagonal")
    torch.manual_seed(seed)
    probe = copy.deepcopy(resolved.module) if resolved.module is not None else resolved.build(L, resolution=resolution)
    check_outputs(probe, x_probe[:4], L, label=resolved.label, what=f"WCST-ML images ({L} levels per cue)")

    config = X.TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size)
    model_config = X.ModelConfig(hidden=tuple(hidden), cnn_widths=tuple(cnn_widths))
    # Expected time: a few optimizer steps of your network, timed, times the steps to come (both networks).
    opt = torch.optim.Adam(probe.parameters(), lr=lr)
    probe.train()
    xb, yb = x_probe[:batch_size], y_probe[:batch_size]
    t = Clock()
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(probe(xb), yb).backward()
        opt.step()
    per_step = t() / 3
    steps = -(-len(y_probe) // batch_size) * epochs
    evals = (epochs + 1) * len(cues) * n_off_diagonal / batch_size
    runs = len(seeds) + (1 if chance else 0)
    expected = per_step * (steps + evals / 3) * runs * 2.5 + 4.0 * runs
    if reference is not None:
        expected *= 2
    say(f"WCST-ML cue preference of {resolved.label}: {L} levels per cue ({', '.join(cues)}), "
        f"{len(y_probe):,} diagonal training images, {n_off_diagonal} off-diagonal images per cue, {epochs} epochs, "
        f"seeds {seeds}" + (f", beside the study's {reference}" if reference else "")
        + f". Expected time: about {expected:.0f} s")

    frame, items, train_acc = _runs(resolved, wcst, config, seeds, resolution, desc=f"training {resolved.label}")
    est = {c: intervals.nested(items[c], outer="seeds", inner="images", seed=seed) for c in cues}
    subjects = {"yours": (resolved.label, frame, est, train_acc)}
    if reference is not None:
        ref = _builder_of(reference, resolution, model_config)
        rframe, ritems, racc = _runs(ref, wcst, config, seeds, resolution, desc=f"training the study's {reference}")
        subjects["workbook"] = (f"workbook {reference}", rframe,
                                {c: intervals.nested(ritems[c], outer="seeds", inner="images", seed=seed) for c in cues}, racc)
    chance_acc = None
    if chance:
        cframe, citems, _ = _runs(resolved, wcst, config, [seed + 1_000], resolution, shuffle_labels=True,
                                  desc=f"label-shuffled {resolved.label} (measured chance)")
        chance_acc = {c: float(np.mean(citems[c][0])) for c in cues}
        chance_est = {c: intervals.nested(citems[c], outer="seeds", inner="images", seed=seed) for c in cues}

    def preferred(e: dict[str, intervals.Estimate]) -> tuple[str, str]:
        order = sorted(e, key=lambda c: -e[c].value)
        return order[0], order[1]

    rows = []
    for kind, (label, _, e, acc) in subjects.items():
        best, _ = preferred(e)
        rows.append({"subject": label, "kind": kind, **{c: fmt(e[c]) for c in cues}, "preferred cue": best,
                     "train acc": float(np.mean(acc)), "source": f"measured here ({len(seeds)} seeds × images)"})
    if chance_acc is not None:
        rows.append({"subject": f"label-shuffled {resolved.label}", "kind": "control", **{c: fmt(chance_acc[c]) for c in cues},
                     "preferred cue": "—", "train acc": np.nan, "source": "measured chance (labels permuted), 1 seed"})
    rows.append({"subject": "paper (dSprites)", "kind": "paper", **{c: "—" for c in cues},
                 "preferred cue": "color" if "color" in cues else "—", "train acc": np.nan, "source": PAPER_SOURCE})
    table = pd.DataFrame(rows)

    ct = C.ClaimTable("shortcut_cues", profile="smoke", seed=seed)
    best, second = preferred(est)
    ct.add(C.decide(
        "MEASURE-WCST-1", f"{resolved.label} adopts {best}: its off-diagonal accuracy beats every other cue's "
        f"(runner-up: {second})", kind="extension", paper=PAPER, source=PAPER_SOURCE,
        measured=intervals.difference(est[best], est[second]),
        rule=C.more_than(0.0, what=f"acc({best}) − acc({second})"),
        detail="off-diagonal accuracy: " + ", ".join(f"{c} {fmt(est[c])}" for c in cues)
               + (("; measured chance: " + ", ".join(f"{c} {chance_acc[c]:.3f}" for c in cues)) if chance_acc else "")))
    if "color" in cues:
        others = [c for c in cues if c != "color"]
        top_other = max(others, key=lambda c: est[c].value)
        control = None
        if chance_acc is not None:
            chance_other = max(others, key=lambda c: chance_est[c].value)
            control = ("label-shuffled model", intervals.difference(chance_est["color"], chance_est[chance_other]))
        ct.add(C.decide(
            "MEASURE-WCST-2", f"like the paper's networks, {resolved.label} prefers colour (by more than 0.1)",
            kind="extension", paper=PAPER, source=PAPER_SOURCE,
            measured=intervals.difference(est["color"], est[top_other]),
            rule=C.more_than(0.1, what=f"acc(color) − acc({top_other}), the best other cue"), control=control,
            post_hoc="the 0.1 margin was set after the first runs of this instrument, so that a label-shuffled "
                     "model's chance margin (about ±0.08 at 300 images) fails it"))
    else:
        ct.add(C.not_run("MEASURE-WCST-2", f"like the paper's networks, {resolved.label} prefers colour",
                         kind="extension", paper=PAPER, source=PAPER_SOURCE, reason="'color' is not among the cues"))
    ct.add(C.decide(
        "MEASURE-WCST-3", f"{resolved.label} learns the diagonal training task (a precondition of reading its preference)",
        kind="sanity", paper="—", source="not in the paper: a precondition", measured=intervals.point(min(train_acc)),
        rule=C.at_least(0.9, what="lowest training accuracy over seeds"),
        detail="training accuracy per seed: " + ", ".join(f"{a:.3f}" for a in train_acc)))

    folder = out_dir("cues", resolved.label, out) if (write or figure) else None
    m = Measurement("cues", resolved.label, ct, table,
                    values={"off_diagonal": est, "preferred": best, "train_acc": train_acc, "chance": chance_acc,
                            "workbook": ({c: e for c, e in subjects["workbook"][2].items()} if reference else None),
                            "final_per_seed": {c: [float(np.mean(v)) for v in items[c]] for c in cues}},
                    settings={"cues": list(cues), "seeds": seeds, "resolution": resolution, "n_diagonal": n_diagonal,
                              "n_off_diagonal": n_off_diagonal, "epochs": epochs, "lr": lr, "batch_size": batch_size,
                              "reference": reference, "levels": L},
                    expected_seconds=expected, extra={"frames": {k: v[1] for k, v in subjects.items()}})
    if figure:
        m.figure = draw(m, subjects, list(cues), chance_acc, folder)
    m.seconds = clock()
    if write:
        m.write(folder)
    return m


def draw(m: Measurement, subjects: dict, cues: list[str], chance_acc: dict | None, folder: Path) -> Path:
    """The study's main figure: off-diagonal accuracy per cue and epoch, yours (red frame) beside the study's."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import seaborn as sns

    from cuelab.plotting import save

    palette = dict(zip(cues, sns.color_palette("colorblind", len(cues))))
    fig, axes = plt.subplots(1, len(subjects), figsize=(5.4 * len(subjects) + 1.2, 4.2), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, (kind, (label, frame, est, _)) in zip(axes[0], subjects.items()):
        d = frame[frame["cue"].isin(cues)]
        stats = d.groupby(["cue", "epoch"])["acc"].agg(["mean", "min", "max"]).reset_index()
        last = int(stats["epoch"].max())
        for c in cues:
            s = stats[stats["cue"] == c]
            ax.plot(s["epoch"], s["mean"], marker="o", ms=3, color=palette[c], label=c)
            ax.fill_between(s["epoch"], s["min"], s["max"], color=palette[c], alpha=0.2)
            e = est[c]
            ax.errorbar([last + 0.25], [e.value], yerr=[[e.value - e.low], [e.high - e.value]], color=palette[c],
                        capsize=2, fmt="none")
            if chance_acc is not None and kind == "yours":
                ax.axhline(chance_acc[c], color=palette[c], ls="--", lw=0.8)
        best = max(est, key=lambda c: est[c].value)
        ax.plot([last + 0.25], [est[best].value], marker="*", ms=15, color="crimson" if kind == "yours" else "black")
        ax.set(title=f"{'yours: ' if kind == 'yours' else ''}{label}: adopts {best}", xlabel="epoch",
               ylabel="off-diagonal accuracy", ylim=(0, 1.02))
        if kind == "yours":
            for spine in ax.spines.values():
                spine.set(edgecolor="crimson", linewidth=2)
    axes[0, -1].legend(title="cue", loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle("WCST-ML on colour-dSprites: which cue does the network adopt?\n(band: min–max over seeds; bar: 95% "
                 "interval after the last epoch; dashed: measured chance)", fontsize=10)
    path = save(fig, folder, "cue_preference")
    plt.close(fig)
    return path
