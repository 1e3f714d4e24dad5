"""What every instrument shares: its result (claims table + a table + JSON + figure), output folders, progress lines."""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cuelab.claims import ClaimTable
from cuelab.intervals import Estimate
from cuelab.io import atomic_write_text
from cuelab.paths import repo_root


def say(text: str) -> None:
    """A progress line on stdout (flushed, so a pipe shows it at once)."""
    print(f"[measure] {text}", flush=True)


def slug(text: str) -> str:
    """A folder-safe name for a model or method: "timm:efficientnet_lite0" → "timm-efficientnet_lite0"."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-.")
    return s[:80] or "subject"


def out_dir(instrument: str, subject: str, out: str | Path | None) -> Path:
    """--out, or reports/measure/<instrument>/<subject>/ under the repository root (created)."""
    folder = Path(out) if out is not None else repo_root() / "reports" / "measure" / instrument / slug(subject)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def estimate_dict(e: Estimate) -> dict[str, Any]:
    """An Estimate as JSON: value, 95% interval, n, what was resampled, how."""
    f = lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else float(f"{float(v):.6g}")  # noqa: E731
    return {"value": f(e.value), "low": f(e.low), "high": f(e.high), "n": int(e.n), "resampled": e.resampled,
            "method": e.method}


def _jsonable(v: Any) -> Any:
    if isinstance(v, Estimate):
        return estimate_dict(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(f"{float(v):.6g}")
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, Path):
        return str(v)
    return v


@dataclass
class Measurement:
    """What an instrument returns: the claims (ClaimTable), a table of the user's result beside the paper's and the
    workbook's own values, the study's main figure with the user's point marked, and the numbers behind them."""

    instrument: str
    subject: str
    claims: ClaimTable
    table: pd.DataFrame
    values: dict[str, Any]
    settings: dict[str, Any]
    expected_seconds: float
    seconds: float = 0.0
    figure: Path | None = None
    json_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"instrument": self.instrument, "subject": self.subject, "settings": _jsonable(self.settings),
                "expected_seconds": round(self.expected_seconds), "seconds": round(self.seconds, 1),
                "values": _jsonable(self.values), "table": _jsonable(self.table.to_dict("records")),
                "claims": self.claims.to_dict(), "figure": str(self.figure) if self.figure else None}

    def write(self, folder: Path) -> Path:
        """measure.json (everything) and claims.json (the claims contract) in folder."""
        self.json_path = folder / "measure.json"
        atomic_write_text(self.json_path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        self.claims.write(folder / "claims.json")
        return self.json_path

    def report(self) -> str:
        """What the command line prints at the end: the table, the verdicts and where the files are."""
        with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 60):
            lines = [self.table.to_string(index=False), "", self.claims.verdicts(), "",
                     *(f"- {c.explain()}" for c in self.claims.claims)]
        lines.append("")
        lines.append(f"took {self.seconds:.0f} s (expected about {self.expected_seconds:.0f} s)")
        if self.json_path:
            lines.append(f"wrote {self.json_path}")
        if self.figure:
            lines.append(f"wrote {self.figure}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Measurement({self.instrument!r}, {self.subject!r})\n{self.report()}"


class Clock:
    """Wall time since start, for `seconds`."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


def fmt(e: Estimate | float | None, spec: str = ".3f") -> str:
    """"0.512 [0.48, 0.54]" or a plain number; "—" for None/NaN."""
    if e is None:
        return "—"
    if isinstance(e, Estimate):
        if math.isnan(e.value):
            return "—"
        return f"{e.value:{spec}}" if e.is_point else f"{e.value:{spec}} [{e.low:{spec}}, {e.high:{spec}}]"
    return "—" if isinstance(e, float) and math.isnan(e) else f"{e:{spec}}"
