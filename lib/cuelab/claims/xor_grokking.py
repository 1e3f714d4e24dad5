"""Claim rules of the xor_grokking study (Xu et al., ICLR 2024), one function per claim id.

Every rule takes one `XorResults` (what the notebook measured) and returns a Claim decided on a 95% interval over
the independent runs (each run: its own data draw, initialisation and test set): a median over runs with a
percentile bootstrap over runs (`cuelab.intervals.over_runs`), a share of runs with Wilson's interval over runs, or
a statistic of the whole run set (the median curve's largest gap from the paper, the step at which the median
curve first reaches a level) bootstrapped by resampling runs (`cuelab.intervals.bootstrap_runs`). A result the run
did not produce (e.g. no delayed-regime runs) gives a "not run" claim that says why. Paper values are read from
the paper's figures (Fig. 1, 3, 4 of arXiv 2310.02541); where a number is only known from the card, the source
says "secondary, unverified".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cuelab import claims as C
from cuelab import intervals as I

STUDY = "xor_grokking"

#: Fig. 1 left (α = 1e-12): median clean test accuracy at step t, read from the figure.
FIG1_LEFT_TEST = {1: 0.505, 2: 0.82, 4: 0.915, 5: 0.96, 7: 0.99, 10: 1.00}
#: Fig. 1 right (α = 1e-16): median clean test accuracy at step t, read from the figure;
#: "≈ 0.50–0.53 up to t ≈ 50" is entered as 0.515 at t = 50.
FIG1_RIGHT_TEST = {50: 0.515, 400: 0.60, 1090: 0.80, 1550: 0.90, 2950: 1.00}
#: Fig. 1 right: the median training accuracy reaches 1.0 at about this step.
FIG1_RIGHT_TRAIN_FIT_STEP = 39
#: Fig. 1 right's clock: (what, paper step) for the median training accuracy reaching 1.0 and the median test
#: accuracy reaching 0.8 and 1.0.
FIG1_RIGHT_CLOCK = {"train 1.0": 39, "test 0.8": 1090, "test 1.0": 2950}
#: Fig. 4 (α = 1e-16): alignment appears only at t ≳ 1000 (secondary, unverified: the card's reading of the figure).
FIG4_ALIGNMENT_STEP = 1000

FIG1_SOURCE = "Fig. 1 left (α = 1e-12), median over 100 runs, values read from the figure"
FIG1_RIGHT_SOURCE = "Fig. 1 right (α = 1e-16), median over 100 runs, values read from the figure"
XOR4_TOLERANCE = 0.10  # max |median − paper| over the paper's grokking steps; ours, fixed before the paper-size run
XOR6_SHARE = 0.75  # share of runs that must grok; ours, fixed before the paper-size run
XOR6_GROKKED = 0.9  # a run "groks" when its clean test accuracy reaches this by T ...
XOR6_CHANCE = 0.6  # ... after testing at most this at t = 1
XOR7_ALIGNED = 3.0  # XOR-7's "features learned" level of the alignment ratio, also used by XOR-12
#: XOR-10/12/13: a step read from Fig. 1 right or Fig. 4 is matched when ours is within this factor of it.
CLOCK_FACTOR = 1.5
CLOCK_POST_HOC = ("the factor-1.5 tolerance on the paper's steps was chosen after a smoke run had shown a clock about "
                  "2× slower than Fig. 1 right (fit ≈ 73 against 39, 0.8 at ≈ 2,470 against 1,090), and the full "
                  "profile's runs include the smoke's; it was chosen so that a 2× clock fails, not to make it pass")
UNIT = "runs"


@dataclass(frozen=True)
class XorResults:
    """What the notebook measured: the main runs' per-step table and, where run, the side experiments.

    traj: one row per (seed, recorded step) with the columns of `cuelab.experiments.xor_grokking`.
    steps: T, the main runs' last step. projections: the main runs' neuron projections (seed, step, proj_mu1,
    proj_mu2, sign) at some steps (None: not kept). scaling: the α/10 runs' per-step table (same seeds), compared
    at t ≤ scaling_steps (None: not run). delayed: the delayed regime's per-step table (None: not run).
    """

    traj: pd.DataFrame
    steps: int
    projections: pd.DataFrame | None = None
    scaling: pd.DataFrame | None = None
    scaling_steps: int | None = None
    delayed: pd.DataFrame | None = None
    delayed_chance_step: int | None = None
    delayed_steps: int | None = None
    delayed_step_size: float | None = None
    init_std: float | None = None


def _at(table: pd.DataFrame, column: str, step: int) -> pd.Series:
    values = table.loc[table["step"] == step, ["seed", column]].set_index("seed")[column]
    if values.empty:
        raise KeyError(f"step {step} was not recorded (column {column!r})")
    return values


def _med(table: pd.DataFrame, column: str, step: int) -> I.Estimate:
    """The median over runs at one step, with a percentile bootstrap over the runs."""
    return I.over_runs(_at(table, column, step).to_numpy(), unit=UNIT)


def median_over_runs(table: pd.DataFrame, column: str, step: int) -> I.Estimate:
    """The median over runs of column at one step, with a percentile bootstrap over the runs."""
    return _med(table, column, step)


def _worst(table: pd.DataFrame, column: str, step: int) -> float:
    return float(_at(table, column, step).min())


def _wide(table: pd.DataFrame, column: str, steps: list[int] | None = None) -> pd.DataFrame:
    """One row per run, one column per recorded step (the steps given, or all)."""
    w = table.pivot_table(index="seed", columns="step", values=column, aggfunc="first")
    return w if steps is None else w[steps]


def per_run_values(table: pd.DataFrame, column: str, step: int) -> dict[int, float]:
    """{seed: value} at one step: the per-run numbers a claim's interval is built from (for the results record)."""
    return {int(k): float(v) for k, v in _at(table, column, step).items()}


def xor_1(r: XorResults) -> C.Claim:
    """After one GD step every training point is fitted, flipped ones included."""
    t = r.traj
    return C.decide(
        "XOR-1", "after one GD step the net fits every training point, flipped ones included",
        kind="reproduction", paper=1.0, source="abstract; Fig. 1 left (train accuracy 1.00 at t = 1)",
        measured=[_med(t, "train_acc", 1), _med(t, "train_acc_flipped", 1)],
        rule=C.all_of(C.equals(1.0, what="median train acc"), C.equals(1.0, what="median flipped acc")),
        detail=f"worst run: train {_worst(t, 'train_acc', 1):.3f}, flipped {_worst(t, 'train_acc_flipped', 1):.3f}",
        # at initialisation the net has fitted nothing: the same rule must fail there
        control=("the initial network, t = 0", [_med(t, "train_acc", 0), _med(t, "train_acc_flipped", 0)]),
    )


def xor_2(r: XorResults) -> C.Claim:
    """... yet the one-step network tests near chance."""
    s = _at(r.traj, "test_acc", 1)
    return C.decide(
        "XOR-2", "... yet it tests near chance at t = 1",
        kind="reproduction", paper=FIG1_LEFT_TEST[1], source=FIG1_SOURCE + ", t = 1",
        measured=_med(r.traj, "test_acc", 1), rule=C.between(0.40, 0.60, what="median test acc at t=1"),
        detail=f"run range {s.min():.3f}–{s.max():.3f}",
        # a network that fits the training data AND generalises must not pass "near chance"
        control=(f"the T = {r.steps} network of the same runs (fits the training set and generalises)",
                 _med(r.traj, "test_acc", r.steps)),
    )


def xor_3(r: XorResults) -> C.Claim:
    """At t = 1 the network is (nearly) the linear classifier sgn⟨Σ y_i x_i, x⟩."""
    t = r.traj
    control = None
    if "random_linear_agreement" in t.columns:
        control = ("agreement with a random linear direction", _med(t, "random_linear_agreement", 1))
    return C.decide(
        "XOR-3", "at t = 1 it is (nearly) the linear classifier sgn⟨Σ yᵢxᵢ, x⟩",
        kind="reproduction", paper="Lemma 4.6",
        source="Lemma 4.6 (one-step network ≈ linear classifier); statement secondary, unverified",
        measured=_med(t, "linear_agreement", 1), rule=C.at_least(0.8, what="median sign agreement on test points"),
        detail=f"worst run {_worst(t, 'linear_agreement', 1):.3f}", control=control,
    )


def _paper_steps(r: XorResults) -> list[int]:
    recorded = set(r.traj["step"].unique().tolist())
    return [s for s in FIG1_LEFT_TEST if 2 <= s <= r.steps and s in recorded]


def _max_gap(paper: list[float]):
    target = np.asarray(paper, dtype=float)
    return lambda rows: float(np.max(np.abs(np.median(rows, axis=0) - target)))


def xor_4(r: XorResults) -> C.Claim:
    """The median test-accuracy curve follows Fig. 1 left at the paper's grokking steps (t = 2 … 10)."""
    statement = "grokking on the paper's clock: the median test curve follows Fig. 1 left at t = 2, 4, 5, 7, 10"
    steps = _paper_steps(r)
    paper = [FIG1_LEFT_TEST[s] for s in steps]
    if not steps:
        return C.not_run("XOR-4", statement, kind="reproduction", paper=list(FIG1_LEFT_TEST.values())[1:],
                         source=FIG1_SOURCE, reason="no paper step t = 2 … 10 was recorded (steps < 2?)")
    wide = _wide(r.traj, "test_acc", steps)
    gap = I.bootstrap_runs(wide.to_numpy(), _max_gap(paper), unit=UNIT, what="max over t of |median − paper|")
    med = wide.median()
    # a net frozen at its one-step (linear) state never groks: the same statistic on the t = 1 column
    one_step = np.repeat(_wide(r.traj, "test_acc", [1]).to_numpy(), len(steps), axis=1)
    control = I.bootstrap_runs(one_step, _max_gap(paper), unit=UNIT, what="max over t of |median − paper|")
    return C.decide(
        "XOR-4", statement, kind="reproduction", paper=paper, source=FIG1_SOURCE,
        measured=gap, rule=C.at_most(XOR4_TOLERANCE, what="max over those t of |median − paper|"),
        detail="median " + ", ".join(f"t={s}: {m:.3f}" for s, m in med.items()),
        control=("the one-step network held fixed", control),
    )


def xor_5(r: XorResults) -> C.Claim:
    """... while the flipped labels stay fitted (benign overfitting)."""
    t, T = r.traj, r.steps
    return C.decide(
        "XOR-5", "... while still fitting the flipped labels (benign overfitting)",
        kind="reproduction", paper=1.0, source="abstract; Fig. 1 left (train accuracy stays 1.00)",
        measured=_med(t, "train_acc_flipped", T), rule=C.equals(1.0, what=f"median flipped acc at T={T}"),
        detail=f"worst run {_worst(t, 'train_acc_flipped', T):.3f}",
    )


def _grokked(t: pd.DataFrame, late: int) -> pd.Series:
    both = pd.concat([_at(t, "test_acc", 1), _at(t, "test_acc", late)], axis=1, keys=["t1", "late"]).dropna()
    return (both["t1"] <= XOR6_CHANCE) & (both["late"] >= XOR6_GROKKED)


def xor_6(r: XorResults) -> C.Claim:
    """Per run, not only the median: most runs are at chance after one step and grok by T."""
    t, T = r.traj, r.steps
    statement = (f"run by run: most runs test ≤ {XOR6_CHANCE:g} at t = 1 and reach ≥ {XOR6_GROKKED:g} by T "
                 "(grokking is the typical run, not a median artefact)")
    grokked = _grokked(t, T)
    first = _at(t, "test_acc", 1)
    return C.decide(
        "XOR-6", statement, kind="reproduction", paper="median 1.00 from t = 10; all runs near chance at t = 1",
        source=FIG1_SOURCE + " (the share of runs is not given: a median of 1.00 implies ≥ half of them)",
        measured=I.wilson(int(grokked.sum()), len(grokked), unit=UNIT),
        rule=C.at_least(XOR6_SHARE, what="share of runs"),
        detail=f"{int(grokked.sum())} of {len(grokked)} runs",
        # the same rule with "by T" replaced by "already at t = 1" must fail: nothing groks in one step
        control=("runs already ≥ 0.9 at t = 1", I.wilson(int((first >= XOR6_GROKKED).sum()), len(first), unit=UNIT)),
    )


def xor_7(r: XorResults) -> C.Claim:
    """Features are learned: positive neurons align with ±μ1, negative ones with ±μ2."""
    t, T = r.traj, r.steps
    rule = C.all_of(C.between(0.8, 1.25, what="ratio at t=1"), C.at_least(XOR7_ALIGNED, what=f"ratio at T={T}"))
    return C.decide(
        "XOR-7", "features are learned: positive neurons align with ±μ1, negative with ±μ2",
        kind="reproduction", paper="Fig. 3", source="Fig. 3 (histograms of ⟨w_j, μ1⟩, ⟨w_j, μ2⟩), qualitative",
        measured=[_med(t, "alignment_ratio", 1), _med(t, "alignment_ratio", T)], rule=rule,
        detail=f"worst run at T: {_worst(t, 'alignment_ratio', T):.2f}",
        control=("the initial weights at both ends", [_med(t, "alignment_ratio", 0)] * 2),
    )


def xor_8(r: XorResults) -> C.Claim:
    """Sanity: at these scales the loss stays at log 2 (true by construction of α and ω_init)."""
    gap = float((r.traj["loss"] - math.log(2)).abs().max())
    return C.decide(
        "XOR-8", "the loss barely moves: all of this happens at loss ≈ log 2",
        kind="sanity", paper="log 2",
        source="not in the paper: holds by construction of the scales α and ω_init (outputs ~1e-9)",
        measured=gap, rule=C.less_than(1e-4, what="max |loss − log 2|"),
        detail=f"max |f(x)| on training points {r.traj['max_abs_output'].max():.3g}"
        if "max_abs_output" in r.traj.columns else "",
    )


def scaling_table(r: XorResults) -> pd.DataFrame:
    """Per t ≤ scaling_steps: median test accuracy of (α, t), (α/10, 10t) and (α/10, t), and the two gaps."""
    ts = list(range(1, r.scaling_steps + 1))
    base, small = _wide(r.traj, "test_acc"), _wide(r.scaling, "test_acc")
    out = pd.DataFrame({"test (α, t)": base[ts].median().to_numpy(),
                        "test (α/10, 10t)": small[[10 * t for t in ts]].median().to_numpy(),
                        "test (α/10, t)": small[ts].median().to_numpy()}, index=pd.Index(ts, name="t"))
    out["|Δ| α·t matched"] = (out["test (α, t)"] - out["test (α/10, 10t)"]).abs()
    out["|Δ| t matched"] = (out["test (α, t)"] - out["test (α/10, t)"]).abs()
    return out


def _paired_gap(r: XorResults, factor: int) -> I.Estimate:
    """max over t of |median test(α, t) − median test(α/10, factor·t)|, bootstrapped over the seeds (paired runs)."""
    ts = list(range(1, r.scaling_steps + 1))
    base = _wide(r.traj, "test_acc")[ts]
    small = _wide(r.scaling, "test_acc")[[factor * t for t in ts]]
    rows = pd.concat([base, small], axis=1, keys=["a", "b"]).dropna().to_numpy()
    k = len(ts)
    stat = lambda x: float(np.max(np.abs(np.median(x[:, :k], axis=0) - np.median(x[:, k:], axis=0))))  # noqa: E731
    return I.bootstrap_runs(rows, stat, unit="seeds (paired runs)", what="max over t of |Δ median|")


def xor_9(r: XorResults) -> C.Claim:
    """Extension (ours): a 10× smaller step over 10× as many steps gives the same test accuracy."""
    statement = "only α·t matters (a 10× smaller step, 10× later)"
    source = ("not in the paper: this workbook's claim from gradient-flow reasoning; the paper's (A5) asks α large "
              "relative to ω_init, the opposite regime (errata)")
    if r.scaling is None:
        return C.not_run("XOR-9", statement, kind="extension", paper="—", source=source, reason="no α/10 runs")
    same_t = _paired_gap(r, 1)
    gaps = scaling_table(r)["|Δ| α·t matched"]
    return C.decide(
        "XOR-9", statement, kind="extension", paper="—", source=source, measured=_paired_gap(r, 10),
        rule=C.at_most(0.02, what=f"max over t ≤ {r.scaling_steps} of |test(α,t) − test(α/10,10t)|"),
        detail=f"largest at t = {int(gaps.idxmax())}; same t instead: max |Δ| = {same_t:.3f}",
    )


def _first_reaching(level: float, steps: np.ndarray):
    """Statistic: the first recorded step at which the median curve over the runs reaches level (inf: never)."""
    def stat(rows: np.ndarray) -> float:
        hit = np.nonzero(np.median(rows, axis=0) >= level - 1e-12)[0]
        return float(steps[hit[0]]) if hit.size else math.inf
    return stat


def first_step_estimate(table: pd.DataFrame, column: str, level: float, *, after: int = 0) -> I.Estimate:
    """The first recorded step (> after) at which the median over runs of column reaches level, with a bootstrap
    over runs; inf when the median curve does not reach it within the run."""
    wide = _wide(table, column)
    wide = wide[[s for s in wide.columns if s > after]].dropna()
    steps = np.asarray(wide.columns, dtype=float)
    e = I.bootstrap_runs(wide.to_numpy(), _first_reaching(level, steps), unit=UNIT,
                         what=f"first step the median {column} reaches {level:g}")
    if steps.size and math.isinf(e.low):  # not reached in any resample: the step is past the run's last step
        e = dataclasses.replace(e, low=float(steps[-1]) + 1)
    return e


def _censored(claim: C.Claim, last: int) -> C.Claim:
    """Steps not reached within the run are inf in the estimates; claims.json stores them as None (JSON has no inf)."""
    def clean(v):
        if isinstance(v, list):
            return [clean(x) for x in v]
        return None if isinstance(v, float) and math.isinf(v) else v
    if not any(isinstance(v, float) and math.isinf(v) for v in _flat([claim.measured, claim.interval])):
        return claim
    note = f"a step shown as — was not reached within the run's {last:,} steps (its interval runs to ∞)"
    interval = clean(claim.interval)
    if isinstance(interval, list) and interval and isinstance(interval[0], list):  # a part never reached: no interval
        interval = [None if (isinstance(i, list) and all(v is None for v in i)) else i for i in interval]
    elif isinstance(interval, list) and all(v is None for v in interval):
        interval = None
    return dataclasses.replace(claim, measured=clean(claim.measured), interval=interval,
                               no_interval=claim.no_interval or ("not reached within the run in any resample"
                                                                 if interval is None else ""),
                               detail="; ".join(x for x in (claim.detail, note) if x))


def _flat(v):
    if isinstance(v, list):
        for x in v:
            yield from _flat(x)
    else:
        yield v


def _clock_rule(what: str, paper: float) -> C.Rule:
    return C.between(math.floor(paper / CLOCK_FACTOR), math.ceil(paper * CLOCK_FACTOR), what=what)


def _fmt_step(e: I.Estimate) -> str:
    f = lambda v: "∞" if math.isinf(v) else f"{v:,.0f}"  # noqa: E731
    return f"{f(e.value)} [{f(e.low)}, {f(e.high)}]"


def xor_10(r: XorResults) -> C.Claim:
    """The delayed regime (Fig. 1 right) on the paper's clock: fit step, steps to 0.8 and to 1.0 test accuracy."""
    statement = ("delayed regime (α = 1e-16, Fig. 1 right) on the paper's clock: the training set is fitted at "
                 "t ≈ 39, the test accuracy reaches 0.8 at t ≈ 1,090 and 1.0 at t ≈ 2,950")
    paper = list(FIG1_RIGHT_CLOCK.values())
    if r.delayed is None:
        return C.not_run("XOR-10", statement, kind="reproduction", paper=paper, source=FIG1_RIGHT_SOURCE,
                         reason="no delayed-regime runs")
    d = r.delayed
    measured = [first_step_estimate(d, "train_acc", 1.0, after=0), first_step_estimate(d, "test_acc", 0.8),
                first_step_estimate(d, "test_acc", 1.0)]
    rule = C.all_of(*(_clock_rule(f"first step median {w} (paper {p:,} ×/÷ {CLOCK_FACTOR:g})", p)
                      for w, p in FIG1_RIGHT_CLOCK.items()))
    ratios = ", ".join(f"{w}: ×{m.value / p:.2f}" if math.isfinite(m.value) else f"{w}: not reached"
                       for (w, p), m in zip(FIG1_RIGHT_CLOCK.items(), measured))
    detail = (f"α = {r.delayed_step_size:g}, ω_init = {r.init_std:g}, {r.delayed_steps:,} steps; ours/paper {ratios}; "
              + "; ".join(f"{w} at {_fmt_step(m)}" for w, m in zip(FIG1_RIGHT_CLOCK, measured)))
    claim = C.decide("XOR-10", statement, kind="reproduction", paper=paper, source=FIG1_RIGHT_SOURCE,
                     measured=measured, rule=rule, detail=detail, post_hoc=CLOCK_POST_HOC)
    return _censored(claim, r.delayed_steps)


def _projection_change(p: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Per run: mean |projection| on the aligned pairs (a_j > 0: μ1, a_j < 0: μ2) and on the crossed pairs,
    at end over start."""
    def level(step: int) -> pd.DataFrame:
        q = p[p["step"] == step]
        pos, neg = q[q["sign"] > 0], q[q["sign"] < 0]
        f = lambda d, c: d.groupby("seed")[c].apply(lambda s: s.abs().mean())  # noqa: E731
        return pd.DataFrame({"aligned": (f(pos, "proj_mu1") + f(neg, "proj_mu2")) / 2,
                             "crossed": (f(pos, "proj_mu2") + f(neg, "proj_mu1")) / 2})
    return level(end) / level(start)


def projection_change(p: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Per run (index: seed): mean |projection| on the aligned and on the crossed pairs at end over start."""
    return _projection_change(p, start, end)


def _projection_detail(p: pd.DataFrame, end: int, change: pd.DataFrame) -> str:
    """The crossed projections step by step where kept (t = 1 → 2 → 3 → end), medians over runs."""
    kept = [s for s in (1, 2, 3, end) if s in set(p["step"])]
    steps = list(zip(kept, kept[1:]))
    parts = [f"crossed ×{_projection_change(p, a, b)['crossed'].median():.2f} from t = {a} to {b}" for a, b in steps]
    return "; ".join([f"medians over runs of each run's ratio; largest crossed ratio of a run ×{change['crossed'].max():.2f}",
                      *parts])


def xor_11(r: XorResults) -> C.Claim:
    """Fig. 3: after the first step the neurons' aligned projections grow and the crossed ones shrink towards 0."""
    statement = ("Fig. 3: from t = 1 to t = 10 the positive neurons' ⟨w_j, μ̂1⟩ (and the negative ones' ⟨w_j, μ̂2⟩) "
                 "grow while the crossed projections shrink towards 0")
    source = "Fig. 3 (positive neurons' ⟨w_j, μ1⟩, ⟨w_j, μ2⟩ at t = 0, 1, 2, 3, 10); the negative neurons by symmetry"
    end = min(10, r.steps)
    if r.projections is None or not {1, end} <= set(r.projections["step"].unique()):
        return C.not_run("XOR-11", statement, kind="reproduction", paper="Fig. 3", source=source,
                         reason=f"neuron projections at t = 1 and t = {end} were not kept")
    change = _projection_change(r.projections, 1, end)
    first = _projection_change(r.projections, 0, 1) if 0 in set(r.projections["step"]) else None
    rule = C.all_of(C.more_than(1.0, what=f"aligned |proj| t={end} / t=1"),
                    C.less_than(1.0, what=f"crossed |proj| t={end} / t=1"))
    control = None
    if first is not None:  # the first step is the linear one: everything grows from the tiny initialisation
        control = ("the first step, t = 0 → 1", [I.over_runs(first["aligned"], unit=UNIT),
                                                  I.over_runs(first["crossed"], unit=UNIT)])
    return C.decide(
        "XOR-11", statement, kind="reproduction", paper="Fig. 3: μ1 two-peaked from t = 2, μ2 shrinks towards 0",
        source=source,
        measured=[I.over_runs(change["aligned"], unit=UNIT), I.over_runs(change["crossed"], unit=UNIT)],
        rule=rule, detail=_projection_detail(r.projections, end, change),
        control=control,
    )


def xor_12(r: XorResults) -> C.Claim:
    """Fig. 4: in the delayed regime the features appear only at t ≳ 1000."""
    statement = (f"Fig. 4: in the delayed regime the neurons align only late: the median alignment ratio first "
                 f"reaches XOR-7's level {XOR7_ALIGNED:g} at t ≳ {FIG4_ALIGNMENT_STEP:,}, within the run")
    source = (f"Fig. 4 (α = 1e-16): alignment appears only at t ≳ {FIG4_ALIGNMENT_STEP:,}; read from the figure by the "
              "card (secondary, unverified)")
    if r.delayed is None:
        return C.not_run("XOR-12", statement, kind="reproduction", paper=FIG4_ALIGNMENT_STEP, source=source,
                         reason="no delayed-regime runs")
    step = first_step_estimate(r.delayed, "alignment_ratio", XOR7_ALIGNED)
    rule = C.between(math.floor(FIG4_ALIGNMENT_STEP / CLOCK_FACTOR), float(r.delayed_steps),
                     what=f"first step at which the median alignment ratio reaches {XOR7_ALIGNED:g}")
    # the main regime (α = 1e-12) aligns within a few steps: the same rule must fail on it
    control = ("the main regime, α = 1e-12", first_step_estimate(r.traj, "alignment_ratio", XOR7_ALIGNED))
    claim = C.decide("XOR-12", statement, kind="reproduction", paper=FIG4_ALIGNMENT_STEP, source=source,
                     measured=step, rule=rule, detail=f"first step {_fmt_step(step)}", control=control,
                     post_hoc=CLOCK_POST_HOC)
    return _censored(claim, r.delayed_steps)


def xor_13(r: XorResults) -> C.Claim:
    """Fig. 1 right: the delayed regime fits every flipped label by t ≈ 39 while the test accuracy is at chance."""
    statement = ("Fig. 1 right: the delayed regime first fits the noisy training set, flipped labels included, at "
                 "t ≈ 39, while it still tests at chance (harmful overfitting before grokking)")
    paper = [FIG1_RIGHT_TRAIN_FIT_STEP, FIG1_RIGHT_TEST[50]]
    if r.delayed is None:
        return C.not_run("XOR-13", statement, kind="reproduction", paper=paper, source=FIG1_RIGHT_SOURCE,
                         reason="no delayed-regime runs")
    d = r.delayed
    fit = first_step_estimate(d, "train_acc_flipped", 1.0, after=0)
    flipped, test = _wide(d, "train_acc_flipped"), _wide(d, "test_acc")
    steps = np.asarray(flipped.columns, dtype=float)
    rows = np.concatenate([flipped.to_numpy(), test[flipped.columns].to_numpy()], axis=1)
    k = len(steps)

    def test_at_fit(x: np.ndarray) -> float:  # the median test accuracy at the step the flipped points are fitted
        hit = np.nonzero(np.median(x[:, :k], axis=0) >= 1.0 - 1e-12)[0]
        return float(np.median(x[:, k + hit[0]])) if hit.size else math.nan
    at_fit = I.bootstrap_runs(rows, test_at_fit, unit=UNIT, what="median test accuracy at the fit step")
    rule = C.all_of(_clock_rule(f"first step median flipped acc = 1 (paper 39 ×/÷ {CLOCK_FACTOR:g})",
                                FIG1_RIGHT_TRAIN_FIT_STEP),
                    C.between(0.40, 0.60, what="median test acc at that step"))
    claim = C.decide("XOR-13", statement, kind="reproduction", paper=paper,
                     source=FIG1_RIGHT_SOURCE + " (train 1.0 at t ≈ 39; test ≈ 0.50–0.53 up to t ≈ 50)",
                     measured=[fit, at_fit], rule=rule, detail=f"flipped points fitted at {_fmt_step(fit)}",
                     post_hoc=CLOCK_POST_HOC)
    return _censored(claim, r.delayed_steps)


RULES = {
    "XOR-1": xor_1, "XOR-2": xor_2, "XOR-3": xor_3, "XOR-4": xor_4, "XOR-5": xor_5,
    "XOR-6": xor_6, "XOR-7": xor_7, "XOR-8": xor_8, "XOR-9": xor_9, "XOR-10": xor_10,
    "XOR-11": xor_11, "XOR-12": xor_12, "XOR-13": xor_13,
}


def decide_all(results: XorResults) -> list[C.Claim]:
    """Every claim of the study, in id order."""
    return [rule(results) for rule in RULES.values()]


def per_run_record(r: XorResults) -> dict[str, dict[int, float]]:
    """Small per-run values behind the claims ({name: {seed: value}}), for the results record."""
    out = {"test_acc_t1": per_run_values(r.traj, "test_acc", 1), f"test_acc_T{r.steps}": per_run_values(r.traj, "test_acc", r.steps),
           "linear_agreement_t1": per_run_values(r.traj, "linear_agreement", 1),
           f"alignment_ratio_T{r.steps}": per_run_values(r.traj, "alignment_ratio", r.steps)}
    if r.delayed is not None:
        for col, level in (("train_acc", 1.0), ("test_acc", 0.8), ("test_acc", 1.0)):
            w = _wide(r.delayed, col)
            first = {int(s): next((float(t) for t, v in row.items() if t > 0 and v >= level), None) for s, row in w.iterrows()}
            out[f"delayed_first_step_{col}_{level:g}"] = first
    return out
