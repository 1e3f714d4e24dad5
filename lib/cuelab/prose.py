"""Sentences with measured numbers, printed from the results by a code cell (never typed into markdown).

A notebook's markdown cells quote no measured value: it would drift the moment the run changes. A code cell
writes the sentence instead, from the numbers it has:

    from cuelab.prose import say
    say(f"The median test accuracy reaches **{acc:.2f}** at t = {t}.")

In JupyterLab and on the site `say` renders markdown (bold, lists, inline TeX stay as written); in a plain
console it prints the text. Paper values may stay in markdown cells: they are not measured here.
tests/test_prose_numbers.py fails when a markdown cell of a committed notebook quotes a number that its
outputs print.
"""

from __future__ import annotations

from typing import Any

PROSE_MIME = "text/markdown"


class Prose:
    """A paragraph of markdown that renders as text in a notebook and prints as itself elsewhere."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def say(*paragraphs: Any) -> None:
    """Show one or more paragraphs of markdown built from results (f-strings), as the notebook's own prose."""
    text = "\n\n".join(str(p) for p in paragraphs if p is not None and str(p) != "")
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # not in IPython at all
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display(Markdown(text))
