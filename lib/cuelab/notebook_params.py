"""A notebook's parameters cell, and the names a run passes checked against it before a kernel starts.

papermill injects parameters it does not know without complaint (it only logs "Passed unknown
parameter"), so a typo such as `noise_rat=0.3` would run the whole study at its default. Here every
name a run passes, from a profile file or from PARAMS, is checked against the assignments in the
notebook's cell tagged `parameters`, and an unknown one is refused with the closest real names.

PARAMS is a space-separated list of `name=value` pairs whose values are read as YAML:
`noise_rate=0.3 archs=[cnn,mlp] dist_root=/data/DiST utkface_dir=null`.
"""

from __future__ import annotations

import ast
import difflib
import json
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from cuelab.params import ParameterError


class UnknownParameterError(ParameterError):
    """A run passes a name the notebook's parameters cell does not define."""

    def __init__(self, name: str, where: str, notebook: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = ("did you mean " + " or ".join(close) + "?") if close else "its parameters are " + ", ".join(known)
        self.name, self.where, self.close = name, where, close
        ValueError.__init__(self, f"{name} (from {where}) is not a parameter of {notebook}; {hint}")


def parameters_cell(notebook: str | Path) -> str:
    """The source of the code cell tagged `parameters` (papermill's convention)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else source
    raise ValueError(f"{notebook} has no code cell tagged 'parameters'")


def notebook_parameters(notebook: str | Path) -> dict[str, str]:
    """Each parameter the notebook defines → the source text of its default, in order."""
    source = parameters_cell(notebook)
    names: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names[target.id] = ast.get_source_segment(source, node.value) or ""
    return names


def parse_params(text: str | None) -> dict[str, Any]:
    """`"a=1 b=[x, y]"` → {"a": 1, "b": ["x", "y"]}; values are YAML, pairs are split like a shell."""
    out: dict[str, Any] = {}
    if not text or not text.strip():
        return out
    try:
        tokens = shlex.split(text)
    except ValueError as err:
        raise ParameterError("PARAMS", text, f"name=value pairs separated by spaces ({err})") from None
    for token in tokens:
        name, sep, raw = token.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ParameterError("PARAMS", token, "name=value pairs separated by spaces, e.g. PARAMS=\"noise_rate=0.3 n_seeds=10\"")
        try:
            out[name] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as err:
            raise ParameterError(name, raw, f"a YAML value ({type(err).__name__})") from None
    return out


def check_names(passed: Mapping[str, Any], notebook: str | Path, where: str) -> None:
    """Raise UnknownParameterError for the first name in `passed` the notebook does not define."""
    known = notebook_parameters(notebook)
    for name in passed:
        if name not in known:
            raise UnknownParameterError(name, where, Path(notebook).name, known)
