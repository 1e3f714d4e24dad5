"""WCST-ML (Scimeca et al., ICLR 2022): several cues, each alone enough to solve the training task.

Over any cue-factorised source (a factor table with one row per available sample, plus a way to get the images
of given rows):
- each chosen cue gets L levels (L = the fewest levels of any chosen cue unless given): a categorical cue keeps
  its L categories; an ordinal cue is cut into L contiguous, count-balanced bins;
- the **diagonal** set holds samples whose every cue sits at the same level l, labelled l (training data: any
  one cue solves it);
- the **off-diagonal** set of cue k holds samples not on the diagonal, labelled by cue k's level (the other cues
  are free); accuracy there says whether a model adopted cue k;
- the **cue-forced** set of cue k is diagonal ∪ off-diagonal of k: only cue k explains all its labels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, TensorDataset

from cuelab.params import ParameterError, check_positive_int
from cuelab.seeding import generator

KINDS = ("categorical", "ordinal")


def balanced_bins(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Contiguous bins 0…n_bins−1 over sorted values with counts as equal as ties allow (equal values share a bin).

    Each distinct value goes to bin ⌊n_bins · (count below it + half its own count) / n⌋, i.e. the bin in which
    the middle of its run of ranks falls.
    """
    n_bins = check_positive_int("n_levels", n_bins)
    values = np.asarray(values)
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    if len(uniq) < n_bins:
        raise ParameterError("n_levels", n_bins, f"at most the number of distinct values of the cue ({len(uniq)})")
    below = np.cumsum(counts) - counts
    mid = (below + counts / 2) / len(values)
    bins = np.minimum((mid * n_bins).astype(np.int64), n_bins - 1)
    return bins[inverse.reshape(-1)]


def cue_levels(factors: pd.DataFrame, cues: Sequence[str], kinds: Mapping[str, str], n_levels: int | None = None,
               categories: Mapping[str, Sequence] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Levels (n_kept, K) of the chosen cues, the kept row indices, and L.

    categories[cue] restricts a categorical cue to the listed values, in that order (rows with other values are
    dropped: UTKFace's ethnicity keeps {White, Black}); without it a categorical cue keeps its sorted values.
    Bins of ordinal cues are computed on the kept rows.
    """
    categories = dict(categories or {})
    for c in cues:
        if c not in factors.columns:
            raise ParameterError("cues", list(cues), "names of the source's factors: " + ", ".join(map(str, factors.columns)))
        if kinds.get(c) not in KINDS:
            raise ParameterError("cues", list(cues), f"cues whose kind is one of {KINDS} (no kind known for {c!r})")
    keep = np.ones(len(factors), bool)
    for c, cats in categories.items():
        keep &= factors[c].isin(list(cats)).to_numpy()
    rows = np.flatnonzero(keep)
    kept = factors.iloc[rows]
    n_cat = {c: len(categories[c]) if c in categories else kept[c].nunique() for c in cues}
    n_ord = {c: kept[c].nunique() for c in cues}
    counts = [n_cat[c] if kinds[c] == "categorical" else n_ord[c] for c in cues]
    L_ = min(counts) if n_levels is None else check_positive_int("n_levels", n_levels)
    levels = np.zeros((len(rows), len(cues)), np.int64)
    for j, c in enumerate(cues):
        col = kept[c].to_numpy()
        if kinds[c] == "categorical":
            order = list(categories[c]) if c in categories else sorted(np.unique(col).tolist())
            if len(order) != L_:
                raise ParameterError("n_levels", L_, f"the number of categories kept for the categorical cue {c!r} ({len(order)}); "
                                     "restrict it with categories")
            lookup = {v: i for i, v in enumerate(order)}
            levels[:, j] = pd.Series(col).map(lookup).to_numpy(np.int64)
        else:
            levels[:, j] = balanced_bins(col, L_)
    return levels, rows, L_


def diagonal_mask(levels: np.ndarray) -> np.ndarray:
    """True where every cue sits at the same level."""
    return np.all(levels == levels[:, :1], axis=1)


def sample_per_label(candidates: np.ndarray, labels: np.ndarray, n: int, n_labels: int, rng: np.random.Generator,
                     name: str = "n") -> np.ndarray:
    """n indices from candidates (positions), n // n_labels per label (the first n % n_labels labels get one more), no repeats.

    name: the parameter that set n, for the error when a label has too few candidates.
    """
    out = []
    for lab in range(n_labels):
        pool = candidates[labels[candidates] == lab]
        want = n // n_labels + (lab < n % n_labels)
        if len(pool) < want:
            raise ParameterError(name, n, f"at most {len(pool) * n_labels} here (label {lab} has only {len(pool)} candidates)")
        out.append(rng.choice(pool, size=want, replace=False))
    return np.sort(np.concatenate(out))


@dataclass
class WCSTSplit:
    """One set: source rows, labels, and every chosen cue's level per sample."""

    name: str
    rows: np.ndarray
    labels: np.ndarray
    levels: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class WCST:
    """The WCST-ML sets over one source: diagonal, one off-diagonal set per cue (for evaluation), and per cue a
    second off-diagonal set, disjoint from every evaluation set, that makes the cue-forced training set.

    A cue-forced model is trained on diagonal ∪ forced_off[cue] and scored on off_diagonal[cue], images it has
    never seen: its held-out own-cue accuracy says whether it really uses its cue.
    """

    cues: tuple[str, ...]
    n_levels: int
    diagonal: WCSTSplit
    off_diagonal: dict[str, WCSTSplit]
    images: Callable[[np.ndarray], torch.Tensor] = field(repr=False)
    forced_off: dict[str, WCSTSplit] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    def forced(self, cue: str) -> WCSTSplit:
        """Diagonal ∪ the cue's forced-training off-diagonal set: only cue explains every label."""
        if cue not in self.forced_off:
            raise ParameterError("cue", cue, "a cue with a forced-training set: one of " + ", ".join(self.forced_off))
        off = self.forced_off[cue]
        return WCSTSplit(f"forced:{cue}", np.concatenate([self.diagonal.rows, off.rows]),
                         np.concatenate([self.diagonal.labels, off.labels]), np.concatenate([self.diagonal.levels, off.levels]))

    def split(self, name: str) -> WCSTSplit:
        """"diagonal", an off-diagonal set by cue name, "forced:<cue>" (diagonal ∪ the cue's forced-training
        off-diagonal set) or "forced-off:<cue>" (that off-diagonal training set alone, where only the cue explains
        the labels: a curriculum's first stage)."""
        if name == "diagonal":
            return self.diagonal
        if name.startswith("forced:"):
            return self.forced(name.split(":", 1)[1])
        if name.startswith("forced-off:"):
            cue = name.split(":", 1)[1]
            if cue not in self.forced_off:
                raise ParameterError("cue", cue, "a cue with a forced-training set: one of " + ", ".join(self.forced_off))
            return self.forced_off[cue]
        return self.off_diagonal[name]

    def tensors(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(images (n, C, H, W), labels (n,)) of a set, images fetched once and kept."""
        s = self.split(name)
        if name not in self._cache:
            if name.startswith("forced:"):
                xd, _ = self.tensors("diagonal")
                self._cache[name] = torch.cat([xd, self.images(self.forced_off[name.split(":", 1)[1]].rows)])
            else:
                self._cache[name] = self.images(s.rows)
        return self._cache[name], torch.from_numpy(s.labels.astype(np.int64))

    def summary(self) -> pd.DataFrame:
        """Size and label counts of every set."""
        sets = [self.diagonal, *self.off_diagonal.values()]
        return pd.DataFrame([{"set": s.name, "n": len(s), **{f"label {l}": int((s.labels == l).sum()) for l in range(self.n_levels)}}
                             for s in sets]).set_index("set")


def build_wcst(factors: pd.DataFrame, kinds: Mapping[str, str], images: Callable[[np.ndarray], torch.Tensor],
               cues: Sequence[str], *, n_diagonal: int, n_off_diagonal: int, n_forced_off: int | None = None,
               n_levels: int | None = None, categories: Mapping[str, Sequence] | None = None, seed: int = 0) -> WCST:
    """Draw the diagonal set (n_diagonal, balanced over labels), each cue's off-diagonal evaluation set (n_off_diagonal
    each) and, after them, each cue's forced-training off-diagonal set (n_forced_off each, default n_off_diagonal),
    disjoint from every evaluation set. The evaluation sets are the same whatever n_forced_off is."""
    cues = tuple(cues)
    if len(cues) < 2 or len(set(cues)) != len(cues):
        raise ParameterError("cues", list(cues), "at least two distinct factor names")
    check_positive_int("n_diagonal", n_diagonal)
    check_positive_int("n_off_diagonal", n_off_diagonal)
    levels, rows, L_ = cue_levels(factors, cues, kinds, n_levels, categories)
    rng = np.random.default_rng(seed)
    diag = diagonal_mask(levels)
    pos = np.flatnonzero(diag)
    d = sample_per_label(pos, levels[:, 0], n_diagonal, L_, rng, "n_diagonal")
    diagonal = WCSTSplit("diagonal", rows[d], levels[d, 0], levels[d])
    off_pos = np.flatnonzero(~diag)
    off, used = {}, []
    for k, c in enumerate(cues):
        o = sample_per_label(off_pos, levels[:, k], n_off_diagonal, L_, rng, "n_off_diagonal")
        off[c] = WCSTSplit(c, rows[o], levels[o, k], levels[o])
        used.append(o)
    n_forced_off = n_off_diagonal if n_forced_off is None else check_positive_int("n_forced_off", n_forced_off)
    unseen = np.setdiff1d(off_pos, np.concatenate(used))  # never in any evaluation set
    forced_off = {}
    for k, c in enumerate(cues):
        o = sample_per_label(unseen, levels[:, k], n_forced_off, L_, rng, "n_forced_off")
        forced_off[c] = WCSTSplit(f"forced-off:{c}", rows[o], levels[o, k], levels[o])
    return WCST(cues, L_, diagonal, off, images, forced_off)


class WCSTDataModule(L.LightningDataModule):
    """Training on one set of a WCST (the diagonal by default), validation on every off-diagonal set."""

    def __init__(self, wcst: WCST, train: str = "diagonal", batch_size: int = 64, seed: int = 0, shuffle_labels: bool = False) -> None:
        super().__init__()
        self.wcst, self.train_name, self.seed = wcst, train, seed
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.shuffle_labels = shuffle_labels

    def train_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The training images and labels (labels permuted when shuffle_labels: the measured-chance control)."""
        x, y = self.wcst.tensors(self.train_name)
        if self.shuffle_labels:
            y = y[torch.randperm(len(y), generator=generator(self.seed + 10_007))]
        return x, y

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(*self.train_tensors()), batch_size=self.batch_size, shuffle=True, generator=generator(self.seed))

    def val_dataloader(self) -> list[DataLoader]:
        return [DataLoader(TensorDataset(*self.wcst.tensors(c)), batch_size=512) for c in self.wcst.cues]
