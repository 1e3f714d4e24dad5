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
"source", "measured", "interval", "n", "resampled", "no_interval", "rule", "verdict",
"detail", "post_hoc", "control"}], "environment": {...}}. `interval` is the measured value's 95% interval
([low, high], or one per part), `n` and `resampled` say what it was resampled over; verdicts are decided on the
interval ("holds", "fails", or "inconclusive" when it straddles the threshold) or "not run". A field missing
from an older file reads as unknown, and a missing interval as a point value.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cuelab.intervals import Estimate, runs_to_decide
from cuelab.io import atomic_write_text
from cuelab.params import check_profile, check_study
from cuelab.runinfo import environment

VERDICTS = ("holds", "fails", "inconclusive", "not run")
KINDS = ("reproduction", "sanity", "extension")
CLAIMS_MIME = "application/vnd.cuelab.claims+json"  # the claims in a notebook's output, read by the site
UNKNOWN = "unknown"  # what a field missing from an older claims.json reads as
NO_INTERVAL = "point value: no interval computed"  # what a reproduction without an interval says unless told why


def _missing(m: Any) -> bool:
    return m is None or (isinstance(m, float) and math.isnan(m))


@dataclass(frozen=True)
class Rule:
    """A named test on a measured value: `text` is what a reader sees, `test` decides a point value.

    Rules built by the combinators below also carry the region of values they accept (`region`: low, high,
    whether each end is included), so they decide an interval: `verdict(value, interval)` is "holds" when the
    whole interval lies in the region, "fails" when none of it does, and "inconclusive" otherwise. A rule over a
    tuple (`all_of`, `each`) decides part by part. A hand-written Rule(text, test) decides an interval by its two
    ends and its value: a convex region is decided right; anything else should be built from the combinators.
    """

    text: str
    test: Callable[[Any], bool]
    region: tuple[float, float, bool, bool] | None = None
    parts: tuple[Rule, ...] = ()
    each: bool = False

    def __call__(self, measured: Any) -> bool:
        if _missing(measured):
            return False
        return bool(self.test(measured))

    def _inside(self, x: float) -> bool:
        lo, hi, lo_closed, hi_closed = self.region
        above = x >= lo if lo_closed else x > lo
        below = x <= hi if hi_closed else x < hi
        return above and below

    def _scalar_verdict(self, value: Any, interval: Sequence[float] | None) -> str:
        if _missing(value):
            return "fails"
        lo, hi = (value, value) if interval is None or any(_missing(v) for v in interval) else interval
        if self.region is None:
            ends = [bool(self.test(lo)), bool(self.test(hi)), bool(self.test(value))]
            return "holds" if all(ends) else "fails" if not any(ends) else "inconclusive"
        if self._inside(lo) and self._inside(hi):
            return "holds"
        r_lo, r_hi, lo_closed, hi_closed = self.region
        below = hi < r_lo or (hi == r_lo and not lo_closed)
        above = lo > r_hi or (lo == r_hi and not hi_closed)
        return "fails" if below or above else "inconclusive"

    def verdict(self, value: Any, interval: Any = None) -> str:
        """holds / fails / inconclusive for a value and its interval (None: a point value)."""
        if self.parts or self.each:
            if _missing(value) or not isinstance(value, (list, tuple)):
                return "fails"
            rules = [self.parts[0]] * len(value) if self.each else list(self.parts)
            if len(rules) != len(value):
                raise ValueError(f"rule {self.text!r} has {len(rules)} parts but the measurement has {len(value)}")
            ivs = interval if isinstance(interval, (list, tuple)) and interval and isinstance(interval[0], (list, tuple, type(None))) \
                else [None] * len(value)
            vs = [r.verdict(v, i) for r, v, i in zip(rules, value, ivs)]
            return "fails" if "fails" in vs else "inconclusive" if "inconclusive" in vs else "holds"
        return self._scalar_verdict(value, interval)

    @property
    def parts_rule(self) -> Rule:
        return self.parts[0] if self.parts else self

    def distance(self, value: float) -> float:
        """How far a value is from the nearest end of the region this rule accepts (for power: NaN if unknown)."""
        if self.region is None or _missing(value):
            return math.nan
        ends = [e for e in self.region[:2] if math.isfinite(e)]
        return min(abs(value - e) for e in ends) if ends else math.nan


def _region_rule(text: str, low: float, high: float, low_closed: bool = True, high_closed: bool = True) -> Rule:
    def test(m: Any, low=low, high=high) -> bool:
        above = m >= low if low_closed else m > low
        below = m <= high if high_closed else m < high
        return above and below
    return Rule(text, test, (float(low), float(high), low_closed, high_closed))


def at_least(threshold: float, what: str = "measured") -> Rule:
    """Holds when measured ≥ threshold."""
    return _region_rule(f"{what} ≥ {threshold:g}", threshold, math.inf)


def more_than(threshold: float, what: str = "measured") -> Rule:
    """Holds when measured > threshold."""
    return _region_rule(f"{what} > {threshold:g}", threshold, math.inf, low_closed=False)


def at_most(threshold: float, what: str = "measured") -> Rule:
    """Holds when measured ≤ threshold."""
    return _region_rule(f"{what} ≤ {threshold:g}", -math.inf, threshold)


def less_than(threshold: float, what: str = "measured") -> Rule:
    """Holds when measured < threshold."""
    return _region_rule(f"{what} < {threshold:g}", -math.inf, threshold, high_closed=False)


def between(low: float, high: float, what: str = "measured") -> Rule:
    """Holds when low ≤ measured ≤ high."""
    return _region_rule(f"{low:g} ≤ {what} ≤ {high:g}", low, high)


def equals(target: float, tol: float = 0.0, what: str = "measured") -> Rule:
    """Holds when |measured − target| ≤ tol."""
    text = f"{what} = {target:g}" if tol == 0 else f"|{what} − {target:g}| ≤ {tol:g}"
    return _region_rule(text, target - tol, target + tol)


def equivalent(margin: float, target: float = 0.0, what: str = "measured") -> Rule:
    """An equivalence test for a "no effect" claim: holds only when the whole interval lies within target ± margin.

    A noisy zero whose interval reaches past the margin is inconclusive, never holds.
    """
    if not margin > 0:
        raise ValueError(f"margin={margin!r} is not accepted: an equivalence margin must be > 0")
    where = f"|{what}|" if target == 0 else f"|{what} − {target:g}|"
    return _region_rule(f"{where} < {margin:g} (equivalence)", target - margin, target + margin, False, False)


def abs_below(margin: float, what: str = "measured") -> Rule:
    """|measured| < margin, decided as an equivalence test (see `equivalent`)."""
    return equivalent(margin, 0.0, what)


def all_of(*rules: Rule) -> Rule:
    """Holds when every rule holds on its own part of a tuple measurement."""
    if not rules:
        raise ValueError("all_of needs at least one rule")
    return Rule(" and ".join(r.text for r in rules), lambda ms: all(r(m) for r, m in zip(rules, ms, strict=True)),
                parts=tuple(rules))


def each(rule: Rule, what: str = "each") -> Rule:
    """Holds when the rule holds on every element of a list measurement (per seed, per item, per model)."""
    return Rule(f"{what}: {rule.text}", lambda ms: len(ms) > 0 and all(rule(m) for m in ms), parts=(rule,), each=True)


def _split(measured: Any) -> tuple[Any, Any, Any, str]:
    """(value, interval, n, resampled) of a measurement: an Estimate, a number, or a list of them."""
    if isinstance(measured, Estimate):
        if measured.is_point:
            return _plain(measured.value), None, None, ""
        return (_plain(measured.value), [_plain(measured.low), _plain(measured.high)], measured.n, measured.resampled)
    if isinstance(measured, (list, tuple)) and any(isinstance(m, Estimate) for m in measured):
        parts = [_split(m) for m in measured]
        values = [p[0] for p in parts]
        intervals = [p[1] for p in parts]
        ns = [p[2] for p in parts]
        res = list(dict.fromkeys(p[3] for p in parts if p[3]))
        if all(i is None for i in intervals):
            return values, None, None, ""
        n = ns[0] if len(set(ns)) == 1 else ns
        return values, intervals, n, "; ".join(res)
    return _plain(measured), None, None, ""


def _half_width(interval: Any) -> Any:
    if interval is None:
        return None
    if interval and isinstance(interval[0], (list, type(None))):
        return [_half_width(i) for i in interval]
    if any(_missing(v) for v in interval):
        return None
    return _plain((interval[1] - interval[0]) / 2)


def _to_decide(rule: Rule, measured: Any) -> str:
    """For an inconclusive verdict: about how many more runs or items would likely decide it, and why."""
    items = measured if isinstance(measured, (list, tuple)) else [measured]
    rules = list(rule.parts) if rule.parts and not rule.each else [rule.parts_rule] * len(items)
    notes = []
    for r, m in zip(rules, items):
        if not isinstance(m, Estimate) or r.verdict(m.value, m.interval) != "inconclusive":
            continue
        d = r.distance(m.value)
        need = runs_to_decide(m, d)
        unit = m.resampled.split(" ", 1)[-1] if " " in m.resampled else "runs"
        if need is None and not (math.isfinite(m.low) and math.isfinite(m.high)):
            notes.append(f"the interval [{m.low:.3g}, {m.high:.3g}] is open-ended (a level not reached within the run in "
                         f"some resamples) and straddles {r.text}: longer runs, not only more of them, would decide it")
        elif need is None:
            notes.append(f"{m.value:.3g} sits on the threshold of {r.text}: more {unit} would only narrow the interval "
                         "around it; the value itself would have to move")
        else:
            notes.append(f"the interval [{m.low:.3g}, {m.high:.3g}] straddles {r.text}; the value is {d:.3g} from it, "
                         f"so about {need:,} {unit} (now {m.n:,}) would likely decide it, the half-width shrinking as 1/√n")
    return "; ".join(notes)


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
    interval: Any = None  # [low, high] (95%), one per part for a tuple measurement; None: a point value
    n: Any = None  # how many units were resampled (runs, items); one per part where they differ
    resampled: str = ""  # what was resampled: "20 runs", "2,400 triplets", "3 seeds × 300 images"
    no_interval: str = ""  # why a reproduction or extension has no interval (empty when it has one)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not accepted: verdict must be one of {VERDICTS}")
        if self.kind not in (*KINDS, UNKNOWN):
            raise ValueError(f"kind={self.kind!r} is not accepted: kind must be one of {KINDS}")

    @property
    def half_width(self) -> Any:
        """The interval's half-width (one per part): the smallest departure from the rule this run could see."""
        return _half_width(self.interval)

    @property
    def power(self) -> str:
        """The power line: how large a departure this run could see ("" for a point value)."""
        h = self.half_width
        if h is None:
            return ""
        hs = h if isinstance(h, list) else [h]
        text = ", ".join("—" if x is None else f"±{x:.3g}" for x in hs)
        return (f"95% interval half-width {text} over {self.resampled or 'the resampled units'}: "
                "a departure smaller than that from the rule's threshold is not visible at this n")

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
        if self.control.get("verdict") == "inconclusive":
            return f"control ({name}) is inconclusive: it does not clearly fail"
        return f"control ({name}) not run"

    def measured_text(self) -> str:
        """The measured value with its interval: "0.105 [0.09, 0.12] (20 runs)"."""
        return format_measured(self.measured, self.interval, self.resampled)

    def explain(self) -> str:
        """One sentence a reader can follow: what was claimed, measured against what, and the verdict."""
        kind = {"reproduction": "Reproduction", "sanity": "Sanity check", "extension": "Extension (ours)"}.get(self.kind, "Claim")
        if self.verdict == "not run":
            text = f"{kind} {self.id} was not run: {self.rule.removeprefix('not run: ')}."
        else:
            text = f"{kind} {self.id} is {self.verdict}" if self.verdict == "inconclusive" else f"{kind} {self.id} {self.verdict}"
            text += f": measured {self.measured_text()} against the rule {self.rule}"
            text += f" (paper: {_fmt(self.paper)}; source: {self.source or 'unstated'})."
            if self.power:
                text += f" {self.power[0].upper()}{self.power[1:]}."
            elif self.no_interval:
                text += f" No interval: {self.no_interval}."
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
    value, interval, n, resampled = _split(measured)
    record = {"name": name, "measured": value, "verdict": rule.verdict(value, interval)}
    if interval is not None:
        record |= {"interval": interval, "n": n, "resampled": resampled}
    return record


def decide(id: str, statement: str, *, kind: str, paper: Any, source: str, measured: Any, rule: Rule,
           detail: str = "", post_hoc: str = "", control: tuple[str, Any] | None = None,
           no_interval: str = "") -> Claim:
    """A claim decided by applying rule to measured, on its interval where it has one.

    measured: a number, a `cuelab.intervals.Estimate` (value, 95% interval, n, what was resampled), or a list of
    them for a tuple rule (`all_of`, `each`). The verdict is "holds" when the whole interval satisfies the rule,
    "fails" when the whole interval violates it, and "inconclusive" when it straddles the threshold; the detail
    then says how many more runs or items would likely decide it. A reproduction or extension measured as a
    point value says why in `no_interval`.

    control: (name, measured value of a negative control, e.g. a random attribution). The same rule is
    applied to it; if the control passes too, the claim cannot hold (the rule does not tell the finding
    from noise) and its verdict is "fails"; if the control is inconclusive, a holding claim is inconclusive.
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not accepted: kind must be one of {KINDS}")
    if not source:
        raise ValueError(f"claim {id}: source must say where the paper value comes from")
    value, interval, n, resampled = _split(measured)
    record = _control_record(rule, control)
    verdict = rule.verdict(value, interval)
    notes = []
    if verdict == "inconclusive":
        notes.append(_to_decide(rule, measured) or "the interval straddles the rule's threshold")
    if verdict == "holds" and record and record["verdict"] == "holds":
        verdict = "fails"
        notes.append(f"the control ({record['name']}) passes the same rule")
    elif verdict == "holds" and record and record["verdict"] == "inconclusive":
        verdict = "inconclusive"
        notes.append(f"the control ({record['name']}) does not clearly fail the same rule")
    detail = "; ".join([d for d in (detail, *notes) if d])
    if interval is None and kind in ("reproduction", "extension") and not no_interval:
        points = [m for m in (measured if isinstance(measured, (list, tuple)) else [measured]) if isinstance(m, Estimate)]
        no_interval = "; ".join(dict.fromkeys(f"{m.resampled}: {m.method}" for m in points)) or NO_INTERVAL
    return Claim(id, statement, _plain(paper), value, rule.text, verdict, detail, kind, source, post_hoc, record,
                 interval, n, resampled, no_interval if interval is None else "")


def not_run(id: str, statement: str, *, kind: str, paper: Any, source: str, reason: str) -> Claim:
    """A claim this run did not test (e.g. it needs the full profile), saying why."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not accepted: kind must be one of {KINDS}")
    return Claim(id, statement, _plain(paper), None, "not run: " + reason, "not run", "", kind, source)


def _plain(value: Any) -> Any:
    """JSON-safe value: numpy scalars to python, NaN to None, tuples to lists, floats to 6 significant digits."""
    if isinstance(value, Estimate):
        value = value.value
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
            value, interval, n, resampled = _split(measured)
            return self._add(Claim(id, statement, _plain(paper), value, rule.text, rule.verdict(value, interval), detail,
                                   UNKNOWN, source, post_hoc, _control_record(rule, control), interval, n, resampled))
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
        """Verdict counts per kind: {"reproduction": {"holds": 3, "fails": 1, "inconclusive": 0, "not run": 0}, ...}."""
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
        colour = VERDICT_COLOURS
        rows = []
        for c in self.claims:
            post = f"post hoc: {c.post_hoc}" if c.post_hoc else ""
            detail = "; ".join(x for x in (c.detail, c.power or c.no_interval) if x)
            cells = [c.id, c.kind, c.statement, _fmt(c.paper), c.source, c.measured_text(), c.rule, detail, post]
            tds = "".join(f"<td style='text-align:left'>{html.escape(str(x))}</td>" for x in cells)
            verdict = f"<td style='color:{colour[c.verdict]};font-weight:bold'>{c.verdict}</td>"
            control = f"<td style='text-align:left'>{html.escape(c.control_text)}</td>"
            rows.append(f"<tr>{tds}{verdict}{control}</tr>")
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("id", "kind", "claim", "paper", "source", "measured [95% interval]", "rule", "detail", "post hoc", "verdict",
                  "control"))
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

VERDICT_COLOURS = {"holds": "#1b7837", "fails": "#b2182b", "inconclusive": "#b35806", "not run": "#777777"}


def format_measured(measured: Any, interval: Any = None, resampled: str = "") -> str:
    """A measured value with its 95% interval and what was resampled: "0.105 [0.0912, 0.118] (20 runs)"."""
    if interval is None:
        return format_value(measured)
    values = measured if isinstance(measured, list) else [measured]
    ivs = interval if interval and isinstance(interval[0], (list, type(None))) else [interval]
    parts = [format_value(v) if i is None else f"{format_value(v)} [{format_value(i[0])}, {format_value(i[1])}]"
             for v, i in zip(values, ivs)]
    return ", ".join(parts) + (f" ({resampled})" if resampled else "")


def summary_line(counts: dict[str, dict[str, int]]) -> str:
    """"reproductions: 5 hold, 1 fails, 1 inconclusive, 1 not run · sanity checks: 2 hold · …" (reproductions apart)."""
    names = {"reproduction": "reproductions", "sanity": "sanity checks (not findings)",
             "extension": "extensions (ours)", UNKNOWN: "kind unknown"}
    parts = []
    for kind, n in counts.items():
        words = [f"{n.get('holds', 0)} hold" if n.get("holds", 0) != 1 else "1 holds",
                 f"{n.get('fails', 0)} fail" if n.get("fails", 0) != 1 else "1 fails",
                 f"{n.get('inconclusive', 0)} inconclusive", f"{n.get('not run', 0)} not run"]
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
        c.setdefault("interval", None)  # an older file: a point value
        c.setdefault("n", None)
        c.setdefault("resampled", "")
        c.setdefault("no_interval", "")
        if c["kind"] not in (*KINDS, UNKNOWN):
            raise ValueError(f"{path}: claim {c.get('id')!r} has kind {c['kind']!r}, not one of {KINDS}")
    data.setdefault("environment", {})
    return data
