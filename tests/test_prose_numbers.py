"""Numbers in prose come from code: no markdown cell of a committed notebook quotes a number its outputs print.

The checker is cuelab.prose_check (see its docstring for what counts). The counterexamples show it catches a
number copied by hand from an output, and one gone stale after a rerun, in a copy of a notebook, while paper
values, thresholds written in code and identifiers pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

import cuelab
from cuelab.claims import CLAIMS_MIME
from cuelab.prose_check import Finding, check_notebook, numbers_in
from cuelab.paths import repo_root

ROOT = repo_root()
NOTEBOOKS = [ROOT / "notebooks" / f"{s}.ipynb" for s in cuelab.STUDIES if (ROOT / "notebooks" / f"{s}.ipynb").is_file()]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_markdown_cell_quotes_a_measured_number_by_hand(notebook: Path) -> None:
    found = check_notebook(notebook)
    assert not found, (f"{len(found)} hand-typed measured number(s); print the sentence from the results with "
                       "cuelab.prose.say(f'…') in a code cell:\n" + "\n".join(map(str, found)))


def _notebook(path: Path, markdown: str, printed: str, code: str = "x = 1") -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "done", "image/png": "iVBOR0.8923xyz"},
                                           execution_count=1)]
    nb.cells = [cell, nbformat.v4.new_markdown_cell(markdown)]
    nbformat.write(nb, path)
    return path


@pytest.mark.counterexample
def test_a_number_copied_from_an_output_is_caught(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "xor_grokking.ipynb", "The median accuracy reaches 0.892 here.", "accuracy 0.8923\n")
    [found] = check_notebook(path, root=tmp_path)
    assert (found.kind, found.quoted, found.printed, found.cell) == ("copied", "0.892", "0.8923", 1)
    # a wall time copied by hand is caught too
    path = _notebook(tmp_path / "xor_grokking.ipynb", "The notebook ran 242 s here.", "wall time 242.3 s\n")
    assert [f.quoted for f in check_notebook(path, root=tmp_path)] == ["242"]


@pytest.mark.counterexample
def test_a_stale_number_is_caught_after_a_rerun(tmp_path: Path) -> None:
    # the text was typed from an earlier run (0.895 / 0.660); the rerun prints 0.892 / 0.662
    path = _notebook(tmp_path / "global_shape.ipynb", "DIST-10 reaches 0.895 and 0.660 on the two regimes.",
                     "DIST-10: 0.892 [0.87, 0.91], 0.662 [0.64, 0.68]\n")
    found = check_notebook(path, root=tmp_path)
    assert [(f.kind, f.quoted, f.printed) for f in found] == [("stale", "0.895", "0.892"), ("stale", "0.660", "0.662")]


def test_numbers_from_code_and_identifiers_are_not_counted(tmp_path: Path) -> None:
    text = ("The threshold is 0.55 (set in code), IG-11 and DIST-10 are claim ids, EfficientNet-Lite0 a model, "
            "`n_seeds=20` and `0.892` are code, [a link](https://x.org/0.892), in 2024 with 2,400 triplets; "
            "the paper reports 0.875.")
    path = _notebook(tmp_path / "input_gradients.ipynb", text, "0.55 0.892 0.875 2024 2400 11 10\n",
                     code="rule = at_least(0.55)")
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].outputs.append(nbformat.v4.new_output("display_data", data={
        CLAIMS_MIME: {"study": "input_gradients", "claims": [{"id": "IG-1", "paper": 0.875, "rule": "measured ≥ 0.55"}]},
        "text/plain": "table"}))
    nbformat.write(nb, path)
    assert check_notebook(path, root=tmp_path) == []
    assert [n.text for n, _ in numbers_in("IG-11 at 0.892, Lite0, 1e-3, 2,400 and 12.5%.")] == ["0.892", "2,400", "12.5"]


@pytest.mark.counterexample
def test_a_stale_number_injected_into_a_copy_of_a_real_notebook_is_caught(tmp_path: Path) -> None:
    # a committed notebook with its outputs; inject a sentence quoting one of its measured values by hand
    for source in NOTEBOOKS:
        nb = nbformat.read(source, as_version=4)
        records = [o["data"][CLAIMS_MIME] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if CLAIMS_MIME in o.get("data", {})]
        values = [c["measured"] for r in records for c in r.get("claims", [])
                  if isinstance(c.get("measured"), float) and 0.1 < c["measured"] < 1 and len(f"{c['measured']:.3f}") == 5]
        if values:
            break
    else:
        pytest.skip("no committed notebook carries outputs with a claims table yet (make refresh-notebooks)")
    copy = tmp_path / "notebooks" / source.name
    copy.parent.mkdir()
    shutil.copy(source, copy)
    before = check_notebook(copy, root=ROOT)
    caught = []
    for measured in values[:5]:  # a measured value that is also a constant in code is rightly not counted
        value = f"{measured:.3f}"
        nb = nbformat.read(source, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell(f"In this run the value came out at {value}, as the table shows."))
        nbformat.write(nb, copy)
        new = [f for f in check_notebook(copy, root=ROOT) if f not in before]
        caught += [f for f in new if f.quoted == value and f.cell == len(nb.cells) - 1 and isinstance(f, Finding)]
    assert caught, values[:5]


def test_the_checker_reads_a_notebook_without_outputs(tmp_path: Path) -> None:
    path = tmp_path / "shortcut_cues.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "0.892", "metadata": {}}],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert check_notebook(path, root=tmp_path) == []
