"""Rewrite notebooks in the form JupyterLab writes them, so opening one shows no unsaved-changes dot (issue 29).

What JupyterLab 4 (4.6, jupyter_server 2.21, checked by opening each committed notebook in Chromium and saving it)
changes on open, and so marks the notebook dirty for:
- metadata.kernelspec: set from the kernel's spec, {"display_name", "language", "name"}; the venv's ipykernel spec
  reads "Python 3 (ipykernel)" (the committed notebooks said "Python 3");
- metadata.language_info: set from the kernel's kernel_info reply (ipykernel: name, version, mimetype,
  codemirror_mode, pygments_lexer, nbconvert_exporter, file_extension).
Everything else round-trips unchanged: nbformat 4.5 (kept), cell ids, cell metadata (papermill's, tags), the
papermill notebook metadata. The file is written as jupyter_server writes it (nbformat.write: JSON with indent=1,
sorted keys, non-ASCII characters kept, one trailing newline).

It also removes frozen progress-bar widgets (outputs whose only rich form is a widget view, and metadata.widgets,
the saved widget state), saying which cells held one: a saved widget reads "0%" above finished results. Notebooks
refreshed headless (CUELAB_HEADLESS=1, as `make refresh-notebooks` does) carry none.

Usage: python scripts/normalize_notebooks.py [--check] [NOTEBOOK ...]   (default: notebooks/*.ipynb)
--check writes nothing and exits 1 when a notebook is not in normal form.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ROOT = Path(__file__).resolve().parents[1]


def kernel_metadata() -> tuple[dict, dict]:
    """(kernelspec, language_info) as JupyterLab sets them from the venv's ipykernel."""
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

    spec = get_kernel_dict()
    kernelspec = {"display_name": spec["display_name"], "language": spec["language"], "name": KERNEL_NAME}
    return kernelspec, dict(IPythonKernel.language_info)


def normalize(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook in JupyterLab's normal form (a copy), and what was changed, in words."""
    nb = nbformat.from_dict(nbformat.from_dict(nb))  # deep copy
    changes: list[str] = []
    kernelspec, language_info = kernel_metadata()
    if nb.metadata.get("kernelspec") != kernelspec:
        changes.append(f"kernelspec {dict(nb.metadata.get('kernelspec', {}))} → {kernelspec}")
        nb.metadata["kernelspec"] = nbformat.from_dict(kernelspec)
    if nb.metadata.get("language_info") != language_info:
        changes.append(f"language_info → {language_info}")
        nb.metadata["language_info"] = nbformat.from_dict(language_info)
    if "widgets" in nb.metadata:
        changes.append("metadata.widgets (saved widget state) removed")
        del nb.metadata["widgets"]
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs")
        if not outputs:
            continue
        kept = [o for o in outputs if WIDGET_VIEW not in o.get("data", {})]
        if len(kept) != len(outputs):
            changes.append(f"cell {i}: {len(outputs) - len(kept)} widget output(s) removed (a frozen progress bar?)")
            cell["outputs"] = kept
    return nb, changes


def text_of(nb: nbformat.NotebookNode) -> str:
    """The file's text as jupyter_server writes it (nbformat.write adds the trailing newline)."""
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is not normal")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    off = 0
    for path in paths:
        before = path.read_text(encoding="utf-8")
        nb, changes = normalize(nbformat.reads(before, as_version=nbformat.NO_CONVERT))
        after = text_of(nb)
        if after == before:
            print(f"{path.name}: already normal")
            continue
        off += 1
        what = "; ".join(changes) or "JSON layout (indent 1, sorted keys, trailing newline)"
        if args.check:
            print(f"{path.name}: NOT normal: {what}")
        else:
            path.write_text(after, encoding="utf-8")
            print(f"{path.name}: normalised: {what}")
    return 1 if (args.check and off) else 0


if __name__ == "__main__":
    sys.exit(main())
