"""DiST of your network: the global_shape study's odd-one-out measurement, pointed at any model.

`dist(model)` scores the network on the offline tile-shuffle substitute triplets (the study's smoke world) or,
with `release=DIR`, on the DiST release (original/, set1/, set2/ of github.com/starsky77/DiST, data/), by the
authors' eval.py rule (cuelab.methods.oddoneout): features with the head removed, z-scored, cosine distances,
the odd one out is the image farthest from the other two; correct when it is the original. Beside it: the
model-free controls on the same triplets (what a colour histogram, a sharpness histogram and an 8 × 8 pixel layout
score), and the paper's models and humans on the paper's DiST-versus-shape-bias scatter, with your point marked.
When your network has one output per substitute class (a network trained on the study's shape × texture images)
its cue-conflict shape bias is measured too and the point sits on the scatter; otherwise it is drawn as a
horizontal band at its DiST (shape bias not measured).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from cuelab import claims as C
from cuelab import intervals
from cuelab.measure.common import Clock, Measurement, fmt, out_dir, say
from cuelab.measure.resolve import MeasureError, ResolvedModel, resolve_model
from cuelab.methods import oddoneout as O

FEATURES = ("auto", "features", "output")
CHANCE = 1 / 3
PAPER_SOURCE = "the paper's DiST-vs-cue-conflict figure, read off to ±0.5 (cuelab.models.zoo.REGISTRY)"
HUMAN_SOURCE = "the paper's figure (v3): humans' DiST and cue-conflict shape bias (cuelab.models.zoo.PAPER_HUMAN)"


class _Featuriser(nn.Module):
    """Normalisation (pretrained weights' own) → the network's pre-logit features, flattened; inputs in [0, 1]."""

    def __init__(self, model: nn.Module, mean, std, how: str) -> None:
        super().__init__()
        self.model, self.how = model, how
        self.register_buffer("mean", torch.tensor(mean if mean else (0.0, 0.0, 0.0))[None, :, None, None])
        self.register_buffer("std", torch.tensor(std if std else (1.0, 1.0, 1.0))[None, :, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        m = self.model
        if self.how == "timm":
            return m.forward_head(m.forward_features(x), pre_logits=True).flatten(1)
        if self.how == "features":
            return m.features(x).flatten(1)
        return m(x).flatten(1)


def _strip_torchvision_head(model: nn.Module) -> nn.Module:
    for attr in ("fc", "heads", "classifier", "head"):
        if isinstance(getattr(model, attr, None), nn.Module):
            setattr(model, attr, nn.Identity())
            return model
    return model


def _network(resolved: ResolvedModel, features: str, n_classes: int) -> tuple[nn.Module, nn.Module | None, str]:
    """(featuriser, classifier or None, how features are taken)."""
    if features not in FEATURES:
        raise MeasureError(f"features={features!r} is not accepted: one of {', '.join(FEATURES)}")
    if resolved.module is not None:
        model = resolved.module
    else:  # a builder: called with no argument when it takes none, else with the substitute's number of classes
        b = resolved.builder
        try:
            required = [p for p in inspect.signature(b).parameters.values()
                        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            required = [None]
        model = b() if not required else resolved.build(n_classes)
        if not isinstance(model, nn.Module):
            raise MeasureError(f"model {resolved.label!r}: the builder returned {type(model).__name__}, not an nn.Module")
    model = model.eval()
    if resolved.kind == "timm" and features in ("auto", "features") and hasattr(model, "forward_head"):
        return _Featuriser(model, resolved.mean, resolved.std, "timm"), None, "timm pre-logits (pooled, head removed)"
    if resolved.kind == "torchvision" and features in ("auto", "features"):
        return (_Featuriser(_strip_torchvision_head(model), resolved.mean, resolved.std, "output"), None,
                "torchvision output with the classification head replaced by Identity")
    has_features = callable(getattr(model, "features", None))
    if features == "features" and not has_features:
        raise MeasureError(f"model {resolved.label!r} has no .features(x): pass features='output'")
    how = "features" if (features == "features" or (features == "auto" and has_features)) else "output"
    classifier = model  # its output: class logits (shape bias is measured when there is one per substitute class)
    return (_Featuriser(model, resolved.mean, resolved.std, how), classifier,
            "model.features(x), flattened" if how == "features" else "the model's output, flattened")


def _resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None or (x.shape[-1] == size and x.shape[-2] == size):
        return x
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


@torch.no_grad()
def _triplet_features(feat: nn.Module, triplets: torch.Tensor, size: int | None, batch_size: int, device) -> torch.Tensor:
    flat = triplets.reshape(-1, *triplets.shape[2:])
    out = [feat(_resize(flat[i : i + batch_size], size).to(device)).float().cpu() for i in range(0, len(flat), batch_size)]
    return torch.cat(out).reshape(triplets.shape[0], 3, -1)


def _probe_seconds(feat: nn.Module, shape: tuple[int, ...], size: int | None, device) -> float:
    """Seconds per image, from a forward pass of 6 images (after one warm-up image)."""
    clock = Clock()
    with torch.no_grad():
        feat(_resize(torch.rand(1, *shape), size).to(device))
        times = []
        for _ in range(2):
            clock = Clock()
            feat(_resize(torch.rand(6, *shape), size).to(device))
            times.append(clock() / 6)
    return min(times)


def paper_points() -> pd.DataFrame:
    """The paper's models (DiST and cue-conflict shape bias, where the paper reports both) and humans."""
    from cuelab.models.zoo import PAPER_HUMAN, REGISTRY

    rows = [{"subject": e.label, "kind": "paper", "dist": e.paper_dist, "shape_bias": e.paper_shape_bias,
             "training": e.training, "source": PAPER_SOURCE}
            for e in REGISTRY.values() if e.paper_dist is not None]
    rows.append({"subject": "humans", "kind": "paper", "dist": PAPER_HUMAN["dist"], "shape_bias": PAPER_HUMAN["shape_bias"],
                 "training": "—", "source": HUMAN_SOURCE})
    return pd.DataFrame(rows)


def _credits(scores: np.ndarray, tie_policy: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return O.credit(scores, tie_policy, seed=seed), O.credit(scores, "first", seed=seed)


def dist(model: Any, release: str | Path | None = None, *, n_triplets: int = 400, n_cue_conflict: int = 800,
         limit: int | None = None,
         seed: int = 0, size: int | None = None, features: str = "auto", tie_policy: str = "fractional",
         batch_size: int = 64, device: str = "cpu", out: str | Path | None = None, write: bool = True,
         figure: bool = True) -> Measurement:
    """DiST of a user's network beside the model-free controls and the paper's models; see the module docstring.

    model: any form cuelab.measure.resolve accepts (nn.Module, builder, "timm:<name>", "torchvision:<name>").
    release: the DiST release folder (None: the offline substitute, `n_triplets` triplets drawn from `seed` exactly
    as the study's notebook draws its evaluation set; n_cue_conflict cue-conflict images for the shape bias of a
    network with one output per substitute class). limit: score only the first `limit` release triplets.
    size: resize every image to size × size (bicubic) before the network; default 224 for timm/torchvision
    networks, the images' own size otherwise. features: "auto" (pre-logits of timm/torchvision, model.features
    when the model has it, else its output), "features" or "output". tie_policy: the headline credit of tied
    images ("fractional": a tie is worth 1/3); the paper's rule ("first": ties count as correct) is reported beside.
    Returns a Measurement (claims, table, figure); with write, measure.json, claims.json and the figure go to
    `out` (default reports/measure/dist/<model>/).
    """
    from cuelab.experiments.global_shape import ZooConfig, make_eval_sets

    clock = Clock()
    if tie_policy not in O.TIE_POLICIES:
        raise MeasureError(f"tie_policy={tie_policy!r} is not accepted: one of {', '.join(O.TIE_POLICIES)}")
    if release is not None and not Path(release).is_dir():
        raise MeasureError(f"release={str(release)!r} is not a folder: pass the DiST release folder holding original/, "
                           "set1/ and set2/ (data/ of github.com/starsky77/DiST), or no release for the offline substitute")
    resolved = resolve_model(model)
    config = ZooConfig()
    k = config.spec.n_classes
    feat, classifier, how = _network(resolved, features, k)
    dev = torch.device(device)
    feat = feat.to(dev).eval()
    if size is None and resolved.kind in ("timm", "torchvision"):
        size = 224
    # the release's loader (or the substitute's images), then a probe of the network: fails before the long pass
    if release is not None:
        from cuelab.data.dist import ReleaseDataset, find_release

        try:
            found = find_release(release, limit=limit)
        except ValueError as err:
            raise MeasureError(str(err)) from err
        dataset = ReleaseDataset(found)
        n_items, shape, where = len(dataset), (3, 224, 224), f"the DiST release ({len(dataset):,} triplets in {release})"
    else:
        if int(n_triplets) < 10:
            raise MeasureError(f"n_triplets={n_triplets!r} is not accepted: at least 10 triplets")
        n_items, shape = int(n_triplets), (3, config.spec.image_size, config.spec.image_size)
        where = f"the offline tile-shuffle substitute ({n_items:,} triplets of {shape[1]}×{shape[2]} shape × texture images)"
    try:
        per_image = _probe_seconds(feat, shape, size, dev)
    except Exception as err:
        raise MeasureError(f"model {resolved.label!r} does not run on images of shape (n, {', '.join(map(str, shape))})"
                           + (f" resized to {size}×{size}" if size else "") + f": {type(err).__name__}: {err}") from err
    expected = 3 * n_items * per_image + (3 * n_items * 0.01 if release is not None else 1.0) + 3
    say(f"DiST of {resolved.label} on {where}; features: {how}"
        + (f"; images resized to {size}×{size}" if size else "") + f". Expected time: about {expected:.0f} s")

    shape_bias_est = None
    if release is None:
        cfg = config.with_(n_triplets=n_items, n_test=1, n_cue_conflict=int(n_cue_conflict))
        sets = make_eval_sets(cfg, seed)
        triplets = sets.triplets.images
        say(f"features of {3 * n_items:,} images …")
        if feat.how == "features" and resolved.mean is None and size in (None, shape[-1]):
            feats = O.model_features(feat.model, triplets)  # the study's own path (experiments.global_shape.evaluate)
        else:
            feats = _triplet_features(feat, triplets, size, batch_size, dev)
        scores = O.oddity_scores(feats)
        control_scores = {name: O.oddity_scores(f) for name, f in O.control_features(triplets).items()}
        if classifier is not None and size in (None, shape[-1]):
            with torch.no_grad():
                probe = classifier(sets.cue.x[:2].to(dev))
            if probe.ndim == 2 and probe.shape[1] in (k, 2 * k):  # one logit per substitute class (or DiSTinguish 2K)
                from cuelab.data.shapetex import shape_bias as _shape_bias
                from cuelab.experiments.global_shape import original_class_decisions

                pred = original_class_decisions(classifier, sets.cue.x, k)
                s, t = int((pred == sets.cue.shape).sum()), int((pred == sets.cue.texture).sum())
                sb = _shape_bias(pred, sets.cue.shape, sets.cue.texture)
                shape_bias_est = intervals.wilson(s, s + t, unit="shape-or-texture decisions") if s + t else None
                if shape_bias_est is not None and abs(shape_bias_est.value - sb.shape_bias) > 1e-12:
                    raise AssertionError("shape bias: the Wilson estimate and the study's shape_bias disagree")
    else:
        from torch.utils.data import DataLoader
        from tqdm import tqdm

        parts, cparts = [], {}
        for batch in tqdm(DataLoader(dataset, batch_size=max(1, batch_size // 3), shuffle=False), desc="DiST release"):
            parts.append(O.oddity_scores(_triplet_features(feat, batch, size, batch_size, dev)))
            for name, f in O.control_features(batch).items():
                cparts.setdefault(name, []).append(O.oddity_scores(f))
        scores = np.concatenate(parts)
        control_scores = {n: np.concatenate(v) for n, v in cparts.items()}

    credit, credit_paper = _credits(scores, tie_policy, seed)
    unit = "triplets"
    est = intervals.over_items(credit, unit=unit, seed=seed)
    est_paper = intervals.over_items(credit_paper, unit=unit, seed=seed)
    controls = {}
    for name, sc in control_scores.items():
        c, cp = _credits(sc, tie_policy, seed)
        controls[name] = (intervals.over_items(c, unit=unit, seed=seed), intervals.over_items(cp, unit=unit, seed=seed))
    best_control = max(controls, key=lambda n: controls[n][0].value)

    rows = [{"subject": resolved.label, "kind": "yours", "dist": est.value, "dist 95%": fmt(est),
             "dist (paper's rule)": est_paper.value, "shape_bias": shape_bias_est.value if shape_bias_est else np.nan,
             "source": f"measured here on {where.split(' (')[0]}"}]
    for name, (c, cp) in controls.items():
        rows.append({"subject": name, "kind": "control (workbook)", "dist": c.value, "dist 95%": fmt(c),
                     "dist (paper's rule)": cp.value, "shape_bias": np.nan,
                     "source": "model-free control, measured here on the same triplets (cuelab.methods.oddoneout)"})
    paper = paper_points()
    for _, p in paper.iterrows():
        rows.append({"subject": p["subject"], "kind": "paper", "dist": p["dist"], "dist 95%": "—",
                     "dist (paper's rule)": p["dist"], "shape_bias": p["shape_bias"], "source": p["source"]})
    table = pd.DataFrame(rows)

    profile = "full" if release is not None else "smoke"
    ct = C.ClaimTable("global_shape", profile=profile, seed=seed)
    ct.add(C.decide(
        "MEASURE-DIST-1", f"{resolved.label} finds the original among its two disruptions above chance (DiST > 1/3)",
        kind="extension", paper="the paper's models: 30.4–79.6 on the release; chance 33.3",
        source=PAPER_SOURCE + "; chance: one of three images", measured=est, rule=C.more_than(CHANCE, what="DiST"),
        detail=f"tie policy {tie_policy!r}; the paper's rule (ties count as correct): {est_paper.value:.3f}"))
    c_best, _ = controls[best_control]
    ct.add(C.decide(
        "MEASURE-DIST-3", f"{resolved.label} beats the best model-free control ({best_control}) on the same triplets",
        kind="extension", paper="not in the paper: this workbook's controls", source="not in the paper: this workbook's "
        "model-free controls (cuelab.methods.oddoneout), the same triplets",
        measured=intervals.paired_difference(credit, _credits(control_scores[best_control], tie_policy, seed)[0],
                                             unit=unit, seed=seed),
        rule=C.more_than(0.0, what=f"DiST − DiST({best_control}), paired over triplets"),
        detail=", ".join(f"{n} {c.value:.3f}" for n, (c, _) in controls.items())))
    from cuelab.models.zoo import PAPER_HUMAN

    if release is not None:
        ct.add(C.decide(
            "MEASURE-DIST-2", f"{resolved.label}'s DiST is below humans' (the paper: humans 88.3, models ≤ 80)",
            kind="extension", paper=PAPER_HUMAN["dist"], source=HUMAN_SOURCE, measured=est,
            rule=C.less_than(PAPER_HUMAN["dist"], what="DiST on the release")))
    else:
        ct.add(C.not_run("MEASURE-DIST-2", f"{resolved.label}'s DiST is below humans' (the paper: humans 88.3)",
                         kind="extension", paper=PAPER_HUMAN["dist"], source=HUMAN_SOURCE,
                         reason="needs the DiST release (release=DIR): the substitute's DiST is not on the paper's scale"))

    folder = out_dir("dist", resolved.label, out) if (write or figure) else None
    m = Measurement("dist", resolved.label, ct, table,
                    values={"dist": est, "dist_paper_rule": est_paper, "shape_bias": shape_bias_est,
                            "controls": {n: {"dist": c, "dist_paper_rule": cp} for n, (c, cp) in controls.items()},
                            "credits": [float(v) for v in credit]},
                    settings={"release": str(release) if release else None, "n_triplets": n_items, "seed": seed,
                              "size": size, "features": how, "tie_policy": tie_policy, "where": where},
                    expected_seconds=expected)
    if figure:
        m.figure = draw(m, paper, folder)
    m.seconds = clock()
    if write:
        m.write(folder)
    return m


def draw(m: Measurement, paper: pd.DataFrame, folder: Path) -> Path:
    """The paper's DiST-versus-shape-bias scatter with the user's point (or band) and the controls marked."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from cuelab.plotting import save

    est, sb = m.values["dist"], m.values["shape_bias"]
    fig, ax = plt.subplots(figsize=(7.2, 5.0), layout="constrained")
    colours = {"standard": "tab:blue", "stylized": "tab:orange", "adversarial": "tab:green", "—": "black"}
    for _, p in paper.iterrows():
        ax.scatter(p["shape_bias"], p["dist"], color=colours.get(p["training"], "grey"), s=30, zorder=3)
        ax.annotate(p["subject"], (p["shape_bias"], p["dist"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if sb is not None:
        ax.errorbar(sb.value, est.value, xerr=[[sb.value - sb.low], [sb.high - sb.value]],
                    yerr=[[est.value - est.low], [est.high - est.value]], fmt="*", ms=16, color="crimson", zorder=5,
                    label=f"yours: {m.subject}")
    else:
        ax.axhspan(est.low, est.high, color="crimson", alpha=0.2, zorder=1)
        ax.axhline(est.value, color="crimson", lw=2, zorder=2, label=f"yours: {m.subject} (shape bias not measured)")
        ax.plot([1.02], [est.value], marker="*", ms=16, color="crimson", clip_on=False, zorder=5)
    levels: dict[float, list[str]] = {}
    for name, c in m.values["controls"].items():  # controls at one level share one line and one label
        levels.setdefault(round(c["dist"].value, 3), []).append(name)
    for value, names in levels.items():
        ax.axhline(value, color="grey", ls=":", lw=1)
        ax.annotate(f"model-free controls: {', '.join(names)} ({value:.3f})", (0.01, value), fontsize=6,
                    color="dimgrey", xytext=(0, 2), textcoords="offset points")
    ax.axhline(CHANCE, color="black", ls="--", lw=0.8)
    ax.set(xlim=(0, 1.0), ylim=(0, 1.0), xlabel="cue-conflict shape bias", ylabel="DiST accuracy",
           title="DiST vs shape bias: the paper's models (dots) and yours (red)\n"
                 + ("yours on the DiST release" if m.settings["release"] else
                    "yours on the offline substitute, not the paper's scale; dots: the release"))
    ax.legend(loc="lower right", fontsize=8)
    path = save(fig, folder, "dist_vs_shape_bias")
    plt.close(fig)
    return path
