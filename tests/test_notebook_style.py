"""Notebooks tell, the library decides: no notebook code cell raises, and cuelab modules are imported by word."""

import json
import re
from pathlib import Path

import pytest

import cuelab

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALIAS = re.compile(r"^\s*(?:from\s+([\w.]+)\s+)?import\s+([\w.]+)\s+as\s+(\w+)", re.M)


def code_cells(study):
    path = NOTEBOOKS / f"{study}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path.name} is not in this checkout")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "code"]


def offences(cells):
    found = []
    for i, src in cells:
        if re.search(r"^\s*raise\b", src, re.M):
            found.append(f"cell {i}: raise")
        for frm, name, alias in ALIAS.findall(src):
            module = f"{frm}.{name}" if frm else name
            if module.startswith("cuelab") and len(alias) <= 2:
                found.append(f"cell {i}: {module} as {alias}")
    return found


@pytest.mark.parametrize("study", cuelab.STUDIES)
def test_notebook_code_cells_do_not_raise_or_alias_cuelab_modules_by_letter(study):
    assert offences(code_cells(study)) == []


@pytest.mark.counterexample
def test_the_style_check_catches_a_raise_and_a_letter_alias():
    bad = [(0, "from cuelab import claims as C\nimport cuelab.experiments.xor_grokking as X"),
           (1, "if n < 1:\n    raise ValueError('n')")]
    assert offences(bad) == ["cell 0: cuelab.claims as C", "cell 0: cuelab.experiments.xor_grokking as X", "cell 1: raise"]
    assert offences([(0, "import numpy as np\nfrom cuelab import claims")]) == []
