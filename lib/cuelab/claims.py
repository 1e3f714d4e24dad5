"""Claims of a paper beside what a run measured, each with the rule that decides it.

A ClaimTable renders in a notebook (paper vs ours) and writes claims.json, the
contract every study keeps:
{"study", "profile", "seed", "claims": [{"id", "statement", "paper", "measured", "rule", "verdict"}]}
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cuelab.params import check_profile, check_study

VERDICTS = ("holds", "fails", "not run")


@dataclass(frozen=True)
class Rule:
    """A named test on a measured value: `text` is what a reader sees, `test` decides."""

    text: str
    test: Callable[[Any], bool]

    def __call__(self, measured: Any) -> bool:
        if measured is None or (isinstance(measured, float) and math.isnan(measured)):
            return False
        return bool(self.test(measured))


def at_least(threshold: float, what: str = "measured") -> Rule:
    """Holds when measured ≥ threshold."""
    return Rule(f"{what} ≥ {threshold:g}", lambda m: m >= threshold)


def at_most(threshold: float, what: str = "measured") -> Rule:
    """Holds when measured ≤ threshold."""
    return Rule(f"{what} ≤ {threshold:g}", lambda m: m <= threshold)


def less_than(threshold: float, what: str = "measured") -> Rule:
    """Holds when measured < threshold."""
    return Rule(f"{what} < {threshold:g}", lambda m: m < threshold)


def between(low: float, high: float, what: str = "measured") -> Rule:
    """Holds when low ≤ measured ≤ high."""
    return Rule(f"{low:g} ≤ {what} ≤ {high:g}", lambda m: low <= m <= high)


def equals(target: float, tol: float = 0.0, what: str = "measured") -> Rule:
    """Holds when |measured − target| ≤ tol."""
    text = f"{what} = {target:g}" if tol == 0 else f"|{what} − {target:g}| ≤ {tol:g}"
    return Rule(text, lambda m: abs(m - target) <= tol)


def all_of(*rules: Rule) -> Rule:
    """Holds when every rule holds on its own part of a tuple measurement."""
    if not rules:
        raise ValueError("all_of needs at least one rule")
    return Rule(" and ".join(r.text for r in rules), lambda ms: all(r(m) for r, m in zip(rules, ms, strict=True)))


@dataclass(frozen=True)
class Claim:
    """One claim of a paper and its verdict in this run."""

    id: str
    statement: str
    paper: Any
    measured: Any
    rule: str
    verdict: str
    detail: str = ""  # what a reader needs beside the headline number: worst seed, a caveat

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not accepted: verdict must be one of {VERDICTS}")


def _plain(value: Any) -> Any:
    """JSON-safe value: numpy scalars to python, NaN to None, tuples to lists, floats to 6 significant digits."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.6g}")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class ClaimTable:
    """The claims of one study in one run."""

    def __init__(self, study: str, profile: str, seed: int) -> None:
        self.study = check_study(study)
        self.profile = check_profile(profile)
        self.seed = int(seed)
        self.claims: list[Claim] = []

    def _add(self, claim: Claim) -> Claim:
        if any(c.id == claim.id for c in self.claims):
            raise ValueError(f"claim id {claim.id!r} is already in the table")
        self.claims.append(claim)
        return claim

    def check(self, id: str, statement: str, *, paper: Any, measured: Any, rule: Rule, detail: str = "") -> Claim:
        """Decide a claim by applying rule to measured, and add it."""
        verdict = "holds" if rule(measured) else "fails"
        return self._add(Claim(id, statement, _plain(paper), _plain(measured), rule.text, verdict, detail))

    def not_run(self, id: str, statement: str, *, paper: Any, reason: str) -> Claim:
        """Add a claim this run did not test (e.g. it needs the full profile), saying why."""
        return self._add(Claim(id, statement, _plain(paper), None, "not run: " + reason, "not run"))

    def __getitem__(self, id: str) -> Claim:
        for c in self.claims:
            if c.id == id:
                return c
        raise KeyError(id)

    def to_dict(self) -> dict[str, Any]:
        """The claims.json contract."""
        return {
            "study": self.study,
            "profile": self.profile,
            "seed": self.seed,
            "claims": [asdict(c) for c in self.claims],
        }

    def write(self, path: str | Path) -> Path:
        """Write claims.json to path (a file, or a folder to put claims.json in)."""
        path = Path(path)
        if path.suffix != ".json":
            path = path / "claims.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    def to_frame(self) -> pd.DataFrame:
        """One row per claim: id, statement, paper, measured, rule, verdict, detail."""
        return pd.DataFrame([asdict(c) for c in self.claims], columns=list(Claim.__dataclass_fields__))

    def verdicts(self) -> str:
        """The stable part of a run, one line per claim ("XOR-1  holds"), for regression checks."""
        width = max((len(c.id) for c in self.claims), default=0)
        lines = [f"{c.id:<{width}}  {c.verdict}" for c in self.claims]
        counts = {v: sum(c.verdict == v for c in self.claims) for v in VERDICTS}
        lines.append(", ".join(f"{n} {v}" for v, n in counts.items()))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {"holds": "#1b7837", "fails": "#b2182b", "not run": "#777777"}
        rows = []
        for c in self.claims:
            cells = [c.id, c.statement, _fmt(c.paper), _fmt(c.measured), c.rule, c.detail]
            tds = "".join(f"<td style='text-align:left'>{html.escape(str(x))}</td>" for x in cells)
            verdict = f"<td style='color:{colour[c.verdict]};font-weight:bold'>{c.verdict}</td>"
            rows.append(f"<tr>{tds}{verdict}</tr>")
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("id", "claim", "paper", "measured", "rule", "detail", "verdict"))
        title = f"<caption>{html.escape(self.study)} · profile {self.profile} · seed {self.seed}</caption>"
        return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def __repr__(self) -> str:
        return f"ClaimTable({self.study!r}, profile={self.profile!r}, seed={self.seed})\n{self.verdicts()}"


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def load_claims(path: str | Path) -> dict[str, Any]:
    """Read a claims.json and check it keeps the contract."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    missing = {"study", "profile", "seed", "claims"} - data.keys()
    if missing:
        raise ValueError(f"{path}: claims.json lacks {sorted(missing)}")
    for c in data["claims"]:
        if c.get("verdict") not in VERDICTS:
            raise ValueError(f"{path}: claim {c.get('id')!r} has verdict {c.get('verdict')!r}, not one of {VERDICTS}")
    return data
