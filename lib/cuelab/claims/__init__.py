"""Claims of a paper beside what a run measured, each with the rule that decides it.

A claim has a kind: a `reproduction` (the paper's finding; it could have come
out otherwise), a `sanity` check (true by construction or by the design of an
offline substitute) or an `extension` (this workbook's own, beyond the paper).
Only reproductions count as reproduced findings. Each claim also says where its
paper value comes from (`source`), whether its threshold was chosen after
seeing a run (`post_hoc`, with the reason), and, where a run supplies one, the
verdict of the same rule on a negative control that must fail.

Each study's rules live in `cuelab.claims.<study>`: one small function per
claim that takes measured results and returns a Claim, tested against a
counterexample that must fail (tests/test_claims_<study>.py, `pytest -k
counterexample`). A ClaimTable renders in a notebook and writes claims.json:
{"study", "profile", "seed", "claims": [{"id", "statement", "kind", "paper",
"source", "measured", "rule", "verdict", "detail", "post_hoc", "control"}],
"environment": {...}}. A field missing from an older file reads as unknown.
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

from cuelab.io import atomic_write_text
from cuelab.params import check_profile, check_study
from cuelab.runinfo import environment

VERDICTS = ("holds", "fails", "not run")
KINDS = ("reproduction", "sanity", "extension")
CLAIMS_MIME = "application/vnd.cuelab.claims+json"  # the claims in a notebook's output, read by the site
UNKNOWN = "unknown"  # what a field missing from an older claims.json reads as


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
    kind: str = UNKNOWN  # one of KINDS
    source: str = ""  # where the paper value comes from: "Fig. 1 left", "Table 2", "not in the paper: ..."
    post_hoc: str = ""  # non-empty when the threshold was chosen after seeing a run: the reason
    control: dict | None = None  # {"name", "measured", "verdict"}: the same rule on a negative control

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not accepted: verdict must be one of {VERDICTS}")
        if self.kind not in (*KINDS, UNKNOWN):
            raise ValueError(f"kind={self.kind!r} is not accepted: kind must be one of {KINDS}")

    @property
    def control_text(self) -> str:
        """How the negative control came out, in words ("" when the claim has none)."""
        if not self.control:
            return ""
        name = self.control.get("name", "control")
        if self.control.get("verdict") == "fails":
            return f"control ({name}) fails as it should"
        if self.control.get("verdict") == "holds":
            return f"CONTROL ({name}) PASSES TOO: the rule does not tell the finding from the control"
        return f"control ({name}) not run"

    def explain(self) -> str:
        """One sentence a reader can follow: what was claimed, measured against what, and the verdict."""
        kind = {"reproduction": "Reproduction", "sanity": "Sanity check", "extension": "Extension (ours)"}.get(self.kind, "Claim")
        if self.verdict == "not run":
            text = f"{kind} {self.id} was not run: {self.rule.removeprefix('not run: ')}."
        else:
            text = f"{kind} {self.id} {self.verdict}: measured {_fmt(self.measured)} against the rule {self.rule}"
            text += f" (paper: {_fmt(self.paper)}; source: {self.source or 'unstated'})."
        if self.control_text:
            text += f" The {self.control_text}."
        if self.post_hoc:
            text += f" Threshold chosen post hoc: {self.post_hoc}."
        return text


def _control_record(rule: Rule, control: tuple[str, Any] | None) -> dict | None:
    if control is None:
        return None
    name, measured = control
    if measured is None:
        return {"name": name, "measured": None, "verdict": "not run"}
    return {"name": name, "measured": _plain(measured), "verdict": "holds" if rule(measured) else "fails"}


def decide(id: str, statement: str, *, kind: str, paper: Any, source: str, measured: Any, rule: Rule,
           detail: str = "", post_hoc: str = "", control: tuple[str, Any] | None = None) -> Claim:
    """A claim decided by applying rule to measured.

    control: (name, measured value of a negative control, e.g. a random attribution). The same rule is
    applied to it; if the control passes too, the claim cannot hold (the rule does not tell the finding
    from noise) and its verdict is "fails", with the reason in detail.
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not accepted: kind must be one of {KINDS}")
    if not source:
        raise ValueError(f"claim {id}: source must say where the paper value comes from")
    record = _control_record(rule, control)
    verdict = "holds" if rule(measured) else "fails"
    if verdict == "holds" and record and record["verdict"] == "holds":
        verdict = "fails"
        detail = (detail + "; " if detail else "") + f"the control ({record['name']}) passes the same rule"
    return Claim(id, statement, _plain(paper), _plain(measured), rule.text, verdict, detail, kind, source, post_hoc, record)


def not_run(id: str, statement: str, *, kind: str, paper: Any, source: str, reason: str) -> Claim:
    """A claim this run did not test (e.g. it needs the full profile), saying why."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not accepted: kind must be one of {KINDS}")
    return Claim(id, statement, _plain(paper), None, "not run: " + reason, "not run", "", kind, source)


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

    def add(self, *claims: Claim) -> ClaimTable:
        """Add claims decided by a study's rules (cuelab.claims.<study>); returns the table."""
        for claim in claims:
            self._add(claim)
        return self

    def check(self, id: str, statement: str, *, paper: Any, measured: Any, rule: Rule, detail: str = "",
              kind: str = UNKNOWN, source: str = "", post_hoc: str = "", control: tuple[str, Any] | None = None) -> Claim:
        """Decide a claim by applying rule to measured, and add it (studies use decide() in their rules module)."""
        if kind == UNKNOWN:
            verdict = "holds" if rule(measured) else "fails"
            return self._add(Claim(id, statement, _plain(paper), _plain(measured), rule.text, verdict, detail,
                                   UNKNOWN, source, post_hoc, _control_record(rule, control)))
        return self._add(decide(id, statement, kind=kind, paper=paper, source=source, measured=measured, rule=rule,
                                detail=detail, post_hoc=post_hoc, control=control))

    def not_run(self, id: str, statement: str, *, paper: Any, reason: str, kind: str = UNKNOWN, source: str = "") -> Claim:
        """Add a claim this run did not test (e.g. it needs the full profile), saying why."""
        return self._add(Claim(id, statement, _plain(paper), None, "not run: " + reason, "not run", "", kind, source))

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
            "summary": self.counts(),
        }

    def counts(self) -> dict[str, dict[str, int]]:
        """Verdict counts per kind: {"reproduction": {"holds": 3, "fails": 1, "not run": 0}, ...}."""
        kinds = [k for k in (*KINDS, UNKNOWN) if any(c.kind == k for c in self.claims)]
        return {k: {v: sum(c.kind == k and c.verdict == v for c in self.claims) for v in VERDICTS} for k in kinds}

    def write(self, path: str | Path, *, started: float | None = None) -> Path:
        """Write claims.json to path (a file, or a folder to put claims.json in), atomically.

        The file records the run's environment (commit, versions, device, wall time since `started`,
        a time.time(), or since the kernel started) under "environment", apart from the claims.
        """
        path = Path(path)
        if path.suffix != ".json":
            path = path / "claims.json"
        data = self.to_dict() | {"environment": environment(started)}
        atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return path

    def to_frame(self) -> pd.DataFrame:
        """One row per claim: id, statement, paper, measured, rule, verdict, detail."""
        return pd.DataFrame([asdict(c) for c in self.claims], columns=list(Claim.__dataclass_fields__))

    def verdicts(self) -> str:
        """The stable part of a run, one line per claim ("XOR-1  holds"), for regression checks."""
        width = max((len(c.id) for c in self.claims), default=0)
        kw = max((len(c.kind) for c in self.claims), default=0)
        lines = [f"{c.id:<{width}}  {c.kind:<{kw}}  {c.verdict}" + (f"  ({c.control_text})" if c.control else "")
                 for c in self.claims]
        lines.append(summary_line(self.counts()))
        return "\n".join(lines)

    def explain(self) -> str:
        """A markdown list: for each claim, the sentence that explains its verdict."""
        return "\n".join(f"- {c.explain()}" for c in self.claims)

    def _repr_html_(self) -> str:
        colour = {"holds": "#1b7837", "fails": "#b2182b", "not run": "#777777"}
        rows = []
        for c in self.claims:
            post = f"post hoc: {c.post_hoc}" if c.post_hoc else ""
            cells = [c.id, c.kind, c.statement, _fmt(c.paper), c.source, _fmt(c.measured), c.rule, c.detail, post]
            tds = "".join(f"<td style='text-align:left'>{html.escape(str(x))}</td>" for x in cells)
            verdict = f"<td style='color:{colour[c.verdict]};font-weight:bold'>{c.verdict}</td>"
            control = f"<td style='text-align:left'>{html.escape(c.control_text)}</td>"
            rows.append(f"<tr>{tds}{verdict}{control}</tr>")
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("id", "kind", "claim", "paper", "source", "measured", "rule", "detail", "post hoc", "verdict", "control"))
        title = (f"<caption>{html.escape(self.study)} · profile {self.profile} · seed {self.seed} · "
                 f"{html.escape(summary_line(self.counts()))}</caption>")
        return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        """HTML for people, plain text for logs, and the claims.json content under CLAIMS_MIME for the site's
        dashboard (a vendor mimetype, so JupyterLab and the site render the HTML, not a JSON tree)."""
        data = self.to_dict() | {"environment": environment()}
        return {"text/html": self._repr_html_(), "text/plain": repr(self), CLAIMS_MIME: json.loads(json.dumps(data))}

    def __repr__(self) -> str:
        return f"ClaimTable({self.study!r}, profile={self.profile!r}, seed={self.seed})\n{self.verdicts()}"


def format_value(value: Any) -> str:
    """A measured or paper value as the tables print it: 4 significant digits, lists joined, None as —."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return str(value)


_fmt = format_value


def summary_line(counts: dict[str, dict[str, int]]) -> str:
    """"reproductions: 5 hold, 1 fails, 1 not run · sanity checks: 2 hold · …" (reproductions counted apart)."""
    names = {"reproduction": "reproductions", "sanity": "sanity checks (not findings)",
             "extension": "extensions (ours)", UNKNOWN: "kind unknown"}
    parts = []
    for kind, n in counts.items():
        words = [f"{n['holds']} hold" if n["holds"] != 1 else "1 holds", f"{n['fails']} fail" if n["fails"] != 1 else "1 fails",
                 f"{n['not run']} not run"]
        parts.append(f"{names.get(kind, kind)}: " + ", ".join(words))
    return " · ".join(parts)


def load_claims(path: str | Path) -> dict[str, Any]:
    """Read a claims.json and check it keeps the contract; fields an older file lacks read as unknown."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    missing = {"study", "profile", "seed", "claims"} - data.keys()
    if missing:
        raise ValueError(f"{path}: claims.json lacks {sorted(missing)}")
    for c in data["claims"]:
        if c.get("verdict") not in VERDICTS:
            raise ValueError(f"{path}: claim {c.get('id')!r} has verdict {c.get('verdict')!r}, not one of {VERDICTS}")
        c.setdefault("kind", UNKNOWN)
        c.setdefault("source", UNKNOWN)
        c.setdefault("post_hoc", "")
        c.setdefault("control", None)
        if c["kind"] not in (*KINDS, UNKNOWN):
            raise ValueError(f"{path}: claim {c.get('id')!r} has kind {c['kind']!r}, not one of {KINDS}")
    data.setdefault("environment", {})
    return data
