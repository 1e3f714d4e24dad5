"""Committed notebooks are saved in the form JupyterLab writes (no unsaved-changes dot on open) and hold no widget.

scripts/normalize_notebooks.py says what JupyterLab 4 normalises (kernelspec and language_info from the kernel; the
JSON layout jupyter_server writes) and rewrites notebooks in that form; `make refresh-notebooks` output must be
passed through it before commit. A widget output saved in a notebook is a progress bar frozen mid-run (issue 29).
"""

from __future__ import annotations

import importlib.util
import json

import nbformat
import pytest

from cuelab.paths import repo_root

ROOT = repo_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _normalizer():
    spec = importlib.util.spec_from_file_location("normalize_notebooks", ROOT / "scripts" / "normalize_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


norm = _normalizer()


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_jupyterlab_normal_form(path):
    text = path.read_text(encoding="utf-8")
    nb, changes = norm.normalize(nbformat.reads(text, as_version=nbformat.NO_CONVERT))
    assert norm.text_of(nb) == text, (f"{path.name} is not saved as JupyterLab writes it "
                                      f"(run scripts/normalize_notebooks.py): {changes or 'JSON layout'}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_holds_no_widget(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"], f"{path.name}: saved widget state in metadata.widgets"
    frozen = [i for i, c in enumerate(nb["cells"]) for o in c.get("outputs", []) if norm.WIDGET_VIEW in o.get("data", {})]
    assert not frozen, f"{path.name}: widget outputs (frozen progress bars?) in cells {frozen}"


def test_the_normaliser_fixes_what_jupyterlab_would_change(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={
        norm.WIDGET_VIEW: {"model_id": "x", "version_major": 2, "version_minor": 0}, "text/plain": "  0%|   | 0/6"})]
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps(nb, indent=2))  # not as jupyter_server writes it
    assert norm.main(["--check", str(path)]) == 1
    assert norm.main([str(path)]) == 0
    assert norm.main(["--check", str(path)]) == 0
    fixed = json.loads(path.read_text())
    kernelspec, language_info = norm.kernel_metadata()
    assert fixed["metadata"]["kernelspec"]["display_name"] == kernelspec["display_name"] == "Python 3 (ipykernel)"
    assert fixed["metadata"]["language_info"] == language_info and "widgets" not in fixed["metadata"]
    assert fixed["cells"][0]["outputs"] == [] and path.read_text().endswith("}\n")
