"""shortcut_cues: the notebook's parameters are checked together, in well under a second, before anything runs;
each run draws its own evaluation sets; the footprint proxy's shape bias is measured on equal-area maps."""

import ast
import inspect
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from cuelab.experiments import shortcut_cues as X
from cuelab.methods import complexity as K
from cuelab.params import ParameterError

ROOT = Path(__file__).resolve().parents[1]


def _defaults() -> dict:
    nb = nbformat.read(ROOT / "notebooks" / "shortcut_cues.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(cell.source, {}, values)
    return values


def _check(**over):
    params = _defaults() | over
    X.check_study_parameters(**{k: params[k] for k in inspect.signature(X.check_study_parameters).parameters})


def test_the_notebook_defaults_pass_quickly_and_build_a_config():
    start = time.perf_counter()
    _check()
    assert time.perf_counter() - start < 1.0
    params = _defaults()
    config = X.study_config(**{k: params[k] for k in inspect.signature(X.study_config).parameters})
    assert config.seeds == [0, 1, 2] and config.forced.epochs == params["forced_max_epochs"]
    assert config.model.hidden == tuple(params["hidden"]) and set(config.configs) >= set(params["archs"])


def test_the_setup_cell_calls_both_and_no_cell_raises():
    nb = nbformat.read(ROOT / "notebooks" / "shortcut_cues.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("check_study_parameters(" in s and "study_config(" in s for s in code)
    for s in code:
        assert not any(isinstance(n, ast.Raise) for n in ast.walk(ast.parse(s)))


@pytest.mark.parametrize("name, value, match", [
    ("cues", ["shape", "scale"], "color"),
    ("cues", ["color", "hue"], "cues"),
    ("sphere_radii", [1, 2], "6"),
    ("loo_steps", 3, "loo_steps"),
    ("forced_curriculum", "backwards", "forced_curriculum"),
    ("forced_curriculum_epochs", 3, "forced_curriculum_epochs"),  # with forced_curriculum "none"
    ("mdl_block_ends", [32, 64, 4096], "n_probe"),
    ("archs", ["cnn", "transformer"], "archs"),
    ("surface_on", "test", "surface_on"),
    ("n_off_diagonal", 0, "n_off_diagonal"),
    ("workers", 0, "workers"),
])
def test_bad_values_and_combinations_name_the_parameter(name, value, match):
    with pytest.raises(ParameterError, match=match):
        _check(**{name: value})


def test_each_seed_draws_its_own_evaluation_sets():
    from cuelab.data import dsprites as D

    src = D.DSpritesSource(16, verbose=False)
    draws = X.seed_draws(src, ["shape", "scale", "orientation", "color"], [0, 1, 2], n_diagonal=90, n_off_diagonal=60)
    rows = [set(draws[s].off_diagonal["shape"].rows) for s in (0, 1, 2)]
    assert all(len(a & b) < 0.5 * len(a) for a, b in [(rows[0], rows[1]), (rows[0], rows[2]), (rows[1], rows[2])])
    again = X.seed_draws(src, ["shape", "scale", "orientation", "color"], [0, 1, 2], n_diagonal=90, n_off_diagonal=60)
    assert all(np.array_equal(draws[s].off_diagonal["color"].rows, again[s].off_diagonal["color"].rows) for s in (0, 1, 2))


@pytest.mark.counterexample
def test_counterexample_the_footprint_proxy_favours_filled_maps_of_equal_area():
    bias = K.footprint_shape_bias(32)
    assert len(bias) >= 3 and (bias["pixels"] > 0).all()
    assert (bias["ratio"] < 1).all()  # a filled disc costs fewer bytes than an annulus of the same pixel count
