"""Numbers in prose come from code: find measured numbers typed by hand into a notebook's markdown cells.

A markdown cell that quotes a number the same notebook's outputs print was, in all likelihood, copied from an
output by hand, and it goes stale the day the run changes. `check_notebook` finds two kinds:

- **copied**: a markdown number equal to a number the outputs print, at the markdown's precision (the output
  0.8923 read as "0.892");
- **stale**: a markdown number of three or more significant digits that no output prints, but which an output
  shows at the same precision within a few units of its last digit (the text says 0.895, the output 0.892).

Numbers that come from code are not counted: any number written in the notebook's code cells (parameters,
thresholds), the paper values and rule texts of its claims, and the numbers in the study's own library modules
(cuelab/claims/<study>.py, cuelab/experiments/<study>.py), the data generators (cuelab/data/) and profile files.
Small integers (below 100: figure, table and section numbers, counts), round hundreds, years, numbers of one
significant digit (0.05), and numbers inside inline code, links and identifiers (IG-11, Lite0) are ignored. The cure is a code cell that prints the sentence from the results: `cuelab.prose.say(f"…")`.

    python -m cuelab.prose_check notebooks/*.ipynb     lists what it finds; exit 1 when anything is found
"""

from __future__ import annotations

import argparse
import html as _html
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLAIMS_MIME = "application/vnd.cuelab.claims+json"  # as cuelab.claims (not imported: this module stays light)
TEXT_MIMES = ("text/plain", "text/markdown", "text/html", "text/latex", "application/json")
STALE_UNITS = 5  # "stale": within this many units of the last shown digit
MIN_INTEGER = 100  # smaller integers are counts, figure and section numbers

# A number on its own: not part of an identifier (IG-11, Lite0, v1, 1e-3, x2), with thousands separators.
_NUMBER = re.compile(r"(?<![\w.\-/])[-−]?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w]|\.\d|,\d{3})")
_CODE_NUMBER = re.compile(r"(?<![\w.])(\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)(?![\w])")
_INLINE_CODE = re.compile(r"(`+)(?:.*?)\1", re.S)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Number:
    """A number as written: its text, value and the number of decimals shown."""

    text: str
    value: float
    decimals: int

    @property
    def significant(self) -> int:
        """Significant digits as written ("0.892" → 3, "2,400" → 4)."""
        return len(re.sub(r"\D", "", self.text).lstrip("0"))


@dataclass(frozen=True)
class Finding:
    """A number a markdown cell quotes by hand."""

    notebook: str
    cell: int  # the cell's index in the notebook
    kind: str  # "copied" or "stale"
    quoted: str  # the number as the markdown writes it
    printed: str  # the output number it matches (or is close to)
    context: str  # the sentence around it

    def __str__(self) -> str:
        what = "quotes" if self.kind == "copied" else "is close to but not"
        return (f"{self.notebook}: markdown cell {self.cell} {what} the printed {self.printed} as {self.quoted!r} "
                f"({self.kind}): …{self.context}…")


def numbers_in(text: str) -> list[tuple[Number, int]]:
    """The numbers in a text with their positions."""
    out = []
    for m in _NUMBER.finditer(text):
        whole, frac = m.group(1), m.group(2)
        digits = whole.replace(",", "") + ("." + frac if frac else "")
        try:
            value = float(digits)
        except ValueError:
            continue
        if m.group(0)[0] in "-−":
            value = -value
        out.append((Number(m.group(0).lstrip("-−"), abs(value), len(frac or "")), m.start()))
    return out


def _prose(markdown: str) -> str:
    """Markdown without code (fenced and inline), link targets and HTML tags: the words a reader reads."""
    text = _FENCE.sub(" ", markdown)
    text = _INLINE_CODE.sub(" ", text)
    text = _LINK_TARGET.sub("]", text)
    return _TAG.sub(" ", text)


def quotable(n: Number) -> bool:
    """A number that looks measured: two or more decimals, or an integer of at least 100 that is not a year."""
    if n.decimals >= 2:
        return n.significant >= 2  # 0.01 or 0.05: a setting, not a measurement
    if n.decimals == 0:  # round hundreds (100%, 2,400 triplets) are design numbers, not measurements
        return n.value >= MIN_INTEGER and n.value % 100 != 0 and not (1900 <= n.value <= 2100 and "," not in n.text)
    return n.value >= MIN_INTEGER and n.significant >= 2


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _walk(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def output_texts(nb: dict[str, Any]) -> list[str]:
    """The text the code cells' outputs show (streams, plain/markdown/HTML/JSON data, errors; never images)."""
    texts = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if "text" in out:
                texts.append(_source({"source": out["text"]}))
            data = out.get("data", {})
            for mime in TEXT_MIMES:
                if mime in data:
                    body = data[mime] if isinstance(data[mime], (str, list)) else json.dumps(data[mime])
                    body = _source({"source": body})
                    texts.append(_html.unescape(_TAG.sub(" ", body)) if mime == "text/html" else body)
            if CLAIMS_MIME in data:
                texts.append(json.dumps(data[CLAIMS_MIME].get("claims", [])))
            if out.get("output_type") == "error":
                texts.append(str(out.get("evalue", "")))
    return texts


def code_constants(texts: Iterable[str]) -> set[float]:
    """The numbers written in code (Python or YAML source): constants, not measurements."""
    values = set()
    for text in texts:
        for m in _CODE_NUMBER.finditer(text):
            try:
                values.add(float(m.group(1).replace("_", "")))
            except ValueError:
                pass
        for n, _ in numbers_in(text):  # also 2,400 and the like in comments and strings
            values.add(n.value)
    return values


def _claims_constants(nb: dict[str, Any]) -> set[float]:
    values: set[float] = set()
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = out.get("data", {}).get(CLAIMS_MIME)
            if not record:
                continue
            for claim in record.get("claims", []):
                for v in _walk(claim.get("paper")):
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        values.add(abs(float(v)))
                    elif isinstance(v, str):
                        values |= {n.value for n, _ in numbers_in(v)}
                for field in ("rule", "source", "statement"):
                    values |= {n.value for n, _ in numbers_in(str(claim.get(field) or ""))}
    return values


def library_sources(study: str, root: Path) -> list[Path]:
    """The study's own library modules and profile files, whose numbers are code too."""
    paths = [root / "lib" / "cuelab" / "claims" / f"{study}.py", root / "lib" / "cuelab" / "experiments" / f"{study}.py"]
    paths += sorted((root / "lib" / "cuelab" / "data").glob("*.py"))  # the data generators' design constants
    paths += sorted((root / "notebooks" / "profiles").glob(f"*/{study}.yaml"))
    return [p for p in paths if p.is_file()]


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def _rounds_to(printed: Number, quoted: Number) -> bool:
    """The printed number, shown to the quoted number's decimals, reads as the quoted one."""
    if printed.decimals < quoted.decimals:
        return False
    if printed.decimals == quoted.decimals:
        return _same(printed.value, quoted.value)
    return _same(round(printed.value, quoted.decimals), quoted.value)


def check_notebook(path: str | Path, *, root: str | Path | None = None,
                   constants: Iterable[float] = ()) -> list[Finding]:
    """The hand-typed measured numbers in a notebook's markdown cells (see the module's docstring).

    root: the repository root, for the study's library modules and profiles (default: the notebook's folder's
    parent, as for notebooks/<study>.ipynb); constants: more numbers that come from code."""
    path = Path(path)
    root = Path(root) if root is not None else path.resolve().parent.parent
    nb = json.loads(path.read_text(encoding="utf-8"))
    printed: dict[tuple[float, int], Number] = {}
    for text in output_texts(nb):
        for n, _ in numbers_in(text):
            printed.setdefault((n.value, n.decimals), n)
    known = set(constants) | _claims_constants(nb)
    known |= code_constants(_source(c) for c in nb.get("cells", []) if c.get("cell_type") == "code")
    known |= code_constants(p.read_text(encoding="utf-8", errors="replace") for p in library_sources(path.stem, root))
    findings = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        text = _prose(_source(cell))
        for n, at in numbers_in(text):
            if not quotable(n) or any(_same(n.value, k) for k in known):
                continue
            context = " ".join(text[max(0, at - 50): at + len(n.text) + 30].split())
            copied = next((p for p in printed.values() if _rounds_to(p, n)), None)
            if copied is not None:
                findings.append(Finding(path.name, index, "copied", n.text, copied.text, context))
                continue
            if n.decimals >= 2 and n.significant >= 3:
                unit = 10.0 ** -n.decimals
                near = [p for p in printed.values() if p.decimals >= n.decimals and p.significant >= 3
                        and 0 < abs(round(p.value, n.decimals) - n.value) <= STALE_UNITS * unit + 1e-12]
                if near:
                    findings.append(Finding(path.name, index, "stale", n.text, near[0].text, context))
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cuelab.prose_check", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    found = [f for nb in args.notebooks for f in check_notebook(nb)]
    for f in found:
        print(f)
    print(f"{len(found)} hand-typed measured number(s) in {len(args.notebooks)} notebook(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
