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


# --- values: the notebook's defaults, and the study's own check before any kernel starts -------------------


def notebook_defaults(notebook: str | Path) -> dict[str, Any]:
    """Each parameter's default value, evaluated from the parameters cell (a literal, or an expression of the
    names above it such as `list(range(10))` or `1 / 3`); a default that cannot be evaluated is left out."""
    import builtins

    source = parameters_cell(notebook)
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        try:
            value = ast.literal_eval(node.value)
        except (ValueError, SyntaxError, TypeError):
            try:
                value = eval(compile(ast.Expression(node.value), "<parameters>", "eval"),  # noqa: S307 - the notebook's own cell
                             {"__builtins__": builtins}, dict(values))
            except Exception:  # noqa: BLE001 - leave it to the kernel
                continue
        for target in targets:
            if isinstance(target, ast.Name):
                values[target.id] = value
    return values


CHECK = "check_study_parameters"
# Modules a study module's top level may import that load in milliseconds: the fast path below runs only these.
_LIGHT = {"__future__", "cuelab.params"}


def _light(module: str | None) -> bool:
    import sys

    if not module:
        return False
    return module in _LIGHT or module.split(".")[0] in sys.stdlib_module_names


def _fast_check(study: str) -> Any | None:
    """`check_study_parameters` of cuelab.experiments.<study> defined from the module's source without importing
    the module (which may import torch and lightning: seconds), or None when the module has none.

    Only the module's light imports (standard library, cuelab.params), its top-level assignments that evaluate
    with those, and its top-level functions are defined. A check that needs anything else raises NameError when
    called; `check_values` then imports the module for real.
    """
    import __future__
    import importlib.util

    spec = importlib.util.find_spec("cuelab.experiments")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / f"{study}.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError):
        return None
    if not any(isinstance(n, ast.FunctionDef) and n.name == CHECK for n in tree.body):
        return None
    namespace: dict[str, Any] = {"__name__": f"cuelab.experiments.{study}", "__file__": str(path)}
    flags = __future__.annotations.compiler_flag
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [module] if module else [a.name for a in node.names]
            if not all(_light(m) for m in names):
                continue
        elif isinstance(node, ast.FunctionDef):
            node = ast.FunctionDef(node.name, node.args, node.body, [], node.returns, node.type_comment,
                                   **({"type_params": node.type_params} if hasattr(node, "type_params") else {}))
            ast.copy_location(node, tree.body[0])
        elif not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        module_ast = ast.fix_missing_locations(ast.Module([node], type_ignores=[]))
        try:
            exec(compile(module_ast, str(path), "exec", flags=flags, dont_inherit=True), namespace)  # noqa: S102
        except Exception:  # noqa: BLE001 - a name the fast path cannot define; the check may not need it
            continue
    return namespace.get(CHECK)


def _bind(check: Any, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The keyword arguments of check that values supply, or None when a required one is missing."""
    import inspect

    kwargs = {}
    for name, param in inspect.signature(check).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name in values:
            kwargs[name] = values[name]
        elif param.default is param.empty:
            return None
    return kwargs


def check_values(study: str, values: Mapping[str, Any]) -> str:
    """Run cuelab.experiments.<study>.check_study_parameters on these values (only the names in its signature),
    raising its ParameterError. Returns what was done: "checked", or "skipped: <why>" (no check function, or a
    parameter it needs has no value here).

    The check is first defined from the module's source alone (milliseconds, see _fast_check); only if it needs
    more of the module is the module imported (torch and lightning: seconds)."""
    import importlib

    check = _fast_check(study)
    if check is None:
        return f"skipped: cuelab.experiments.{study} has no {CHECK}"
    kwargs = _bind(check, values)
    if kwargs is None:
        return f"skipped: a parameter {CHECK} needs has no value"
    try:
        check(**kwargs)
        return "checked"
    except (NameError, ImportError, AttributeError):
        pass  # the fast definition lacks something: import the module for real
    module = importlib.import_module(f"cuelab.experiments.{study}")
    check = getattr(module, CHECK, None)
    if check is None:
        return f"skipped: cuelab.experiments.{study} has no {CHECK}"
    kwargs = _bind(check, values)
    if kwargs is None:
        return f"skipped: a parameter {CHECK} needs has no value"
    check(**kwargs)
    return "checked"
