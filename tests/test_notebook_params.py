"""Parameters cells: PARAMS parsing, the unknown-name check, and papermill seeing every parameter."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import cuelab
from cuelab.notebook_params import UnknownParameterError, check_names, notebook_parameters, parse_params
from cuelab.params import ParameterError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = [REPO / "notebooks" / f"{s}.ipynb" for s in cuelab.STUDIES if (REPO / "notebooks" / f"{s}.ipynb").is_file()]


def test_params_values_are_yaml_and_pairs_split_like_a_shell() -> None:
    assert parse_params("noise_rate=0.3 n_seeds=10 archs=[cnn,mlp] dist_root=null engine=gram") == {
        "noise_rate": 0.3, "n_seeds": 10, "archs": ["cnn", "mlp"], "dist_root": None, "engine": "gram"}
    assert parse_params('title="two words" flag=true') == {"title": "two words", "flag": True}
    assert parse_params("") == {} and parse_params(None) == {}


@pytest.mark.parametrize("text", ["noise_rate", "0.3", "=1", "a-b=1", 'x="open'])
def test_malformed_params_name_what_is_accepted(text: str) -> None:
    with pytest.raises(ParameterError) as err:
        parse_params(text)
    assert err.value.name == "PARAMS" and "name=value pairs" in str(err.value)


def test_unknown_name_suggests_the_closest(tmp_path: Path) -> None:
    nb = REPO / "notebooks" / "xor_grokking.ipynb"
    if not nb.is_file():
        pytest.skip("no xor_grokking notebook in this checkout")
    check_names({"noise_rate": 0.3, "n_seeds": 3}, nb, "PARAMS")  # real names pass
    with pytest.raises(UnknownParameterError) as err:
        check_names({"noise_rat": 0.3}, nb, "PARAMS")
    assert err.value.close[0] == "noise_rate" and "did you mean noise_rate" in str(err.value)
    with pytest.raises(UnknownParameterError) as far:
        check_names({"zzzz": 1}, nb, "PARAMS")
    assert far.value.close == [] and "its parameters are " in str(far.value) and "noise_rate" in str(far.value)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_lists_every_parameter_of_every_notebook(notebook: Path) -> None:
    # papermill --help-notebook uses this inspection; a comment it cannot parse drops the parameter
    from papermill.inspection import inspect_notebook

    assert list(inspect_notebook(str(notebook))) == list(notebook_parameters(notebook))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_full_profile_name_is_a_parameter_of_its_notebook(notebook: Path) -> None:
    profile = REPO / "notebooks" / "profiles" / "full" / f"{notebook.stem}.yaml"
    values = yaml.safe_load(profile.read_text()) or {}
    check_names(values, notebook, str(profile.relative_to(REPO)))


def _parameters_notebook(path: Path, source: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, path)
    return path


def test_notebook_defaults_evaluates_literals_and_simple_expressions(tmp_path: Path) -> None:
    from cuelab.notebook_params import notebook_defaults

    path = _parameters_notebook(tmp_path / "x.ipynb", 'profile = "smoke"\nclasses = list(range(3))\n'
                                "ramp = 1 / 3\nn = 4_000\nboth = n * 2\nbroken = undefined_name + 1\n")
    assert notebook_defaults(path) == {"profile": "smoke", "classes": [0, 1, 2], "ramp": 1 / 3, "n": 4000, "both": 8000}


def test_check_values_runs_the_studys_check_without_importing_torch() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom cuelab.notebook_params import check_values, notebook_defaults\n"
            f"d = notebook_defaults({str(REPO / 'notebooks' / 'xor_grokking.ipynb')!r})\n"
            "print(check_values('xor_grokking', d))\n"
            "try:\n    check_values('xor_grokking', {**d, 'n_seeds': 'abc'})\nexcept Exception as e:\n"
            "    print(type(e).__name__, e)\n"
            "print('torch' in sys.modules, 'lightning' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["checked", "ParameterError n_seeds='abc' is not accepted: n_seeds must be a positive integer (1, 2, 3, …).",
                   "False False"]


def test_check_values_passes_only_the_names_in_the_signature_and_falls_back_to_an_import(monkeypatch) -> None:
    from cuelab import notebook_params

    seen = {}

    def check(*, a: int, b: int = 2) -> None:
        seen.update(a=a, b=b)
        if a < 0:
            raise ParameterError("a", a, "≥ 0")

    monkeypatch.setattr(notebook_params, "_fast_check", lambda study: check)
    assert notebook_params.check_values("xor_grokking", {"a": 1, "zzz": 5}) == "checked" and seen == {"a": 1, "b": 2}
    with pytest.raises(ParameterError, match="a=-1"):
        notebook_params.check_values("xor_grokking", {"a": -1})
    assert notebook_params.check_values("xor_grokking", {"b": 1}).startswith("skipped")  # a has no value
    monkeypatch.setattr(notebook_params, "_fast_check", lambda study: None)
    assert "has no check_study_parameters" in notebook_params.check_values("xor_grokking", {})

    def needs_more(*, a: int) -> None:
        raise NameError("REGISTRY")  # the fast definition lacks a module-level name: the real module is imported

    monkeypatch.setattr(notebook_params, "_fast_check", lambda study: needs_more)
    import types

    fake = types.SimpleNamespace(check_study_parameters=check)
    monkeypatch.setattr("importlib.import_module", lambda name: fake)
    seen.clear()
    assert notebook_params.check_values("xor_grokking", {"a": 3}) == "checked" and seen["a"] == 3
