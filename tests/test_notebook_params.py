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
