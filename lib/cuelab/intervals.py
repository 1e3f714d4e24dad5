"""How sure a measured value is: a value with its 95% interval, its n and what was resampled.

A claim's rule is decided on the interval (cuelab.claims): it holds only when the whole interval satisfies
the rule, fails only when the whole interval violates it, and is `inconclusive` otherwise. This module makes
the intervals, one constructor per source of variation:

- `over_runs(values)`: independent runs or seeds; a percentile bootstrap of a statistic (median by
  default) over the runs, or `t_over_runs` for a mean with Student's t.
- `wilson(k, n)`: an accuracy or a share from k successes in n independent items.
- `over_items(values)`: a bootstrap over test items (triplets, images) of one run.
- `nested(groups)`: runs × items, where both vary: resample runs, then items within each run.
- `paired_difference(a, b)`, `difference(x, y)`: effects between two conditions.
- `spearman(x, y)`: a rank correlation with a bootstrap over the pairs.
- `point(value)`: no interval (a sanity check, or a value that does not vary); its width is zero.

Every constructor is deterministic for a given seed. Bootstraps are scipy.stats.bootstrap's percentile method
with 2,000 resamples by default; Wilson intervals are scipy.stats.binomtest's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats

LEVEL = 0.95
N_BOOT = 2000


@dataclass(frozen=True)
class Estimate:
    """A measured value with its 95% interval [low, high], n and the unit that was resampled ("20 runs")."""

    value: float
    low: float
    high: float
    n: int
    resampled: str
    method: str = ""

    def __post_init__(self) -> None:
        for name in ("value", "low", "high"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, (int, float)):
                raise TypeError(f"Estimate.{name} must be a number, not {type(v).__name__}")
        if not (math.isnan(self.value) or math.isnan(self.low) or math.isnan(self.high)):
            if not self.low <= self.high:
                raise ValueError(f"Estimate interval [{self.low}, {self.high}] has low > high")

    @property
    def interval(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def half_width(self) -> float:
        """Half the interval's width: the smallest departure this run could see."""
        return (self.high - self.low) / 2

    @property
    def is_point(self) -> bool:
        return self.low == self.high and self.n <= 1

    def __float__(self) -> float:
        return float(self.value)

    def __format__(self, spec: str) -> str:
        spec = spec or ".3g"
        if self.is_point:
            return format(self.value, spec)
        return f"{format(self.value, spec)} [{format(self.low, spec)}, {format(self.high, spec)}]"

    def map(self, f: Callable[[float], float], method: str = "") -> Estimate:
        """The estimate of a monotone increasing function of this value (the interval's ends map with it)."""
        lo, hi = sorted((float(f(self.low)), float(f(self.high))))
        return Estimate(float(f(self.value)), lo, hi, self.n, self.resampled, method or self.method)


def _f(x) -> float:
    return float(np.asarray(x, dtype=float))


def point(value: float, resampled: str = "") -> Estimate:
    """A value without an interval (n = 1): decided as a point, as before intervals."""
    v = _f(value)
    return Estimate(v, v, v, 1, resampled or "point value", "no resampling")


def _finite(values: Sequence[float]) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    return a[np.isfinite(a)]


def _percentile(boot: np.ndarray, level: float) -> tuple[float, float]:
    a = (1 - level) / 2
    lo, hi = np.quantile(boot, [a, 1 - a])
    return float(lo), float(hi)


def over_runs(values: Sequence[float], *, stat: Callable = np.median, unit: str = "runs", n_boot: int = N_BOOT,
              seed: int = 0, level: float = LEVEL) -> Estimate:
    """A statistic over independent runs (median by default) with a percentile bootstrap over the runs."""
    a = _finite(values)
    if a.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, f"0 {unit}", "no finite value")
    value = _f(stat(a))
    if a.size == 1:
        return Estimate(value, value, value, 1, f"1 {unit.rstrip('s')}", "one run: no interval")
    name = getattr(stat, "__name__", "statistic")
    if np.ptp(a) == 0:  # every run gave the same value: the bootstrap distribution is that value
        return Estimate(value, value, value, int(a.size), f"{a.size} {unit}", f"all {a.size} {unit} equal")
    try:  # numpy reductions take axis= and run vectorised; any other statistic runs one resample at a time
        stat(a[None, :], axis=-1)
        f, vec = (lambda x, axis=-1: stat(x, axis=axis)), True
    except TypeError:
        f, vec = stat, False
    res = _stats.bootstrap((a,), f, n_resamples=n_boot, confidence_level=level, method="percentile", vectorized=vec,
                           rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Estimate(value, min(lo, value), max(hi, value), int(a.size), f"{a.size} {unit}",
                    f"percentile bootstrap of the {name} over {unit} (scipy.stats.bootstrap, {n_boot} resamples)")


def t_over_runs(values: Sequence[float], *, unit: str = "runs", level: float = LEVEL) -> Estimate:
    """The mean over independent runs with Student's t interval."""
    a = _finite(values)
    if a.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, f"0 {unit}", "no finite value")
    m = float(a.mean())
    if a.size == 1:
        return Estimate(m, m, m, 1, f"1 {unit.rstrip('s')}", "one run: no interval")
    se = float(a.std(ddof=1) / math.sqrt(a.size))
    h = float(_stats.t.ppf((1 + level) / 2, a.size - 1) * se)
    return Estimate(m, m - h, m + h, int(a.size), f"{a.size} {unit}", f"Student's t over {unit}")


def wilson(k: float, n: int, *, unit: str = "items", level: float = LEVEL) -> Estimate:
    """A share k/n of independent items with Wilson's score interval."""
    n = int(n)
    if n <= 0:
        return Estimate(math.nan, math.nan, math.nan, 0, f"0 {unit}", "no items")
    p = float(k) / n
    ci = _stats.binomtest(int(round(k)), n).proportion_ci(confidence_level=level, method="wilson")
    return Estimate(p, max(0.0, float(ci.low)), min(1.0, float(ci.high)), n, f"{n:,} {unit}",
                    "Wilson score interval (scipy.stats.binomtest)")


def over_items(values: Sequence[float], *, stat: Callable = np.mean, unit: str = "items", n_boot: int = N_BOOT,
               seed: int = 0, level: float = LEVEL) -> Estimate:
    """A statistic over the test items of one run (mean by default) with a percentile bootstrap over items."""
    return over_runs(values, stat=stat, unit=unit, n_boot=n_boot, seed=seed, level=level)


def nested(groups: Sequence[Sequence[float]], *, stat: Callable = np.mean, outer: str = "seeds", inner: str = "items",
           n_boot: int = N_BOOT, seed: int = 0, level: float = LEVEL) -> Estimate:
    """Runs × items, both varying: resample the runs, then the items within each drawn run.

    groups: one array of per-item scores per run. The value is the mean over runs of each run's stat.
    """
    gs = [_finite(g) for g in groups]
    gs = [g for g in gs if g.size]
    if not gs:
        return Estimate(math.nan, math.nan, math.nan, 0, f"0 {outer}", "no finite value")
    value = float(np.mean([stat(g) for g in gs]))
    sizes = sorted({g.size for g in gs})
    per = f"{sizes[0]:,}" if len(sizes) == 1 else f"{sizes[0]:,}–{sizes[-1]:,}"
    resampled = f"{len(gs)} {outer} × {per} {inner}"
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, len(gs), size=len(gs))
        boot[b] = np.mean([stat(gs[i][rng.integers(0, gs[i].size, size=gs[i].size)]) for i in pick])
    lo, hi = _percentile(boot, level)
    return Estimate(value, min(lo, value), max(hi, value), len(gs), resampled,
                    f"nested percentile bootstrap ({outer}, then {inner} within each), {n_boot} resamples")


def paired_difference(a: Sequence[float], b: Sequence[float], *, stat: Callable = np.mean, unit: str = "items",
                      n_boot: int = N_BOOT, seed: int = 0, level: float = LEVEL) -> Estimate:
    """stat(a − b) over paired items or runs (the same item measured twice), bootstrapped over the pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired_difference needs arrays of one shape, got {a.shape} and {b.shape}")
    return over_runs(a - b, stat=stat, unit=unit, n_boot=n_boot, seed=seed, level=level)


def difference(x: Estimate, y: Estimate) -> Estimate:
    """x − y for two independent estimates; the half-widths add in quadrature (normal approximation)."""
    v = x.value - y.value
    h = math.hypot(x.half_width, y.half_width)
    resampled = x.resampled if x.resampled == y.resampled else f"{x.resampled}; {y.resampled}"
    return Estimate(v, v - h, v + h, min(x.n, y.n), resampled, "difference of independent estimates")


def spearman(x: Sequence[float], y: Sequence[float], *, unit: str = "pairs", n_boot: int = N_BOOT, seed: int = 0,
             level: float = LEVEL) -> Estimate:
    """Spearman's ρ with a percentile bootstrap over the (x, y) pairs."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3:
        return Estimate(math.nan, math.nan, math.nan, int(x.size), f"{x.size} {unit}", "too few pairs")
    value = float(_stats.spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        i = rng.integers(0, x.size, size=x.size)
        if np.ptp(x[i]) == 0 or np.ptp(y[i]) == 0:
            continue
        boot.append(_stats.spearmanr(x[i], y[i]).statistic)
    lo, hi = _percentile(np.asarray(boot, dtype=float), level)
    return Estimate(value, min(lo, value), max(hi, value), int(x.size), f"{x.size} {unit}",
                    f"percentile bootstrap of Spearman's ρ over {unit}, {n_boot} resamples")


def runs_to_decide(estimate: Estimate, distance: float) -> int | None:
    """About how many runs/items would make the half-width smaller than `distance` (width ∝ 1/√n).

    None when it cannot be said: no interval, or the value sits on the threshold (distance 0).
    """
    h = estimate.half_width
    if not (distance > 0) or not (h > 0) or estimate.n < 1 or math.isnan(h) or math.isinf(h):
        return None
    return int(math.ceil(round(estimate.n * (h / distance) ** 2, 6)))


def bootstrap_runs(table_by_run: Sequence[Sequence[float]] | np.ndarray, statistic: Callable[[np.ndarray], float], *,
                   unit: str = "runs", n_boot: int = N_BOOT, seed: int = 0, level: float = LEVEL,
                   what: str = "statistic") -> Estimate:
    """A statistic of a whole set of runs, with a percentile bootstrap that resamples the runs.

    table_by_run: one row per independent run (e.g. a run's test accuracy at each recorded step); statistic maps
    such a table (n_runs × k) to one number, e.g. "the max over steps of |median over runs − paper|" or "the first
    step at which the median curve reaches 0.8". Each resample draws n runs with replacement and recomputes the
    statistic on them. The statistic may return ±inf (e.g. "not reached within the run"): the interval's ends are
    then order statistics of the resamples, so an end can be inf.
    """
    rows = np.asarray(table_by_run, dtype=float)
    if rows.ndim == 1:
        rows = rows[:, None]
    if rows.ndim != 2:
        raise ValueError(f"bootstrap_runs needs one row per run (a 2-D table), got shape {rows.shape}")
    n = rows.shape[0]
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, f"0 {unit}", "no runs")
    value = float(statistic(rows))
    if n == 1:
        return Estimate(value, value, value, 1, f"1 {unit.rstrip('s')}", "one run: no interval")
    rng = np.random.default_rng(seed)
    boot = np.array([float(statistic(rows[rng.integers(0, n, size=n)])) for _ in range(n_boot)])
    boot = boot[~np.isnan(boot)]
    a = (1 - level) / 2
    if np.all(np.isfinite(boot)):
        lo, hi = _percentile(boot, level)
    else:  # order statistics: an interpolation between a finite value and inf is not defined
        lo, hi = (float(np.quantile(boot, a, method="lower")), float(np.quantile(boot, 1 - a, method="higher")))
    if math.isnan(value):
        return Estimate(value, lo, hi, n, f"{n} {unit}", f"percentile bootstrap of the {what} over {unit}")
    return Estimate(value, min(lo, value), max(hi, value), n, f"{n} {unit}",
                    f"percentile bootstrap of the {what} over {unit} (runs resampled, statistic recomputed; {n_boot} resamples)")
