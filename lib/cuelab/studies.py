"""The study registry: the one list of cuelab's studies, read by everything that names them.

`cuelab.STUDIES` (the names), the Makefile (which runs this file with plain python3 before `make setup`, so a
wrong STUDY is reported before a venv is built), the site's pages, the README's studies table and the tests all
read REGISTRY. `make new-study NAME=…` (cuelab.scaffold) adds an entry above the marker line at its end.

This module imports nothing but the standard library and nothing of cuelab, so it also runs as a script:

    python3 lib/cuelab/studies.py                  the study names, space-separated (the Makefile's STUDIES)
    python3 lib/cuelab/studies.py --check-new NAME exit 2 with a message unless NAME can be a new study
    python3 lib/cuelab/studies.py --readme-table   the README's studies table, generated from REGISTRY
    python3 lib/cuelab/studies.py --json           the names as a JSON list (e.g. a CI matrix)
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Study:
    """One study: its name (notebook, module, reports/ and STUDY= name), a short title and the paper it studies."""

    name: str
    title: str
    paper: str  # the citation, in markdown: authors, *title*, venue and year

    @property
    def notebook(self) -> str:
        """The notebook, relative to the repository root."""
        return f"notebooks/{self.name}.ipynb"

    @property
    def full_profile(self) -> str:
        """The full profile's papermill parameters, relative to the repository root."""
        return f"notebooks/profiles/full/{self.name}.yaml"

    @property
    def site_page(self) -> str:
        """The study's page in the site `make site` builds, relative to build/site/."""
        return f"studies/{self.name}.html"

    @property
    def claims_module(self) -> str:
        return f"cuelab.claims.{self.name}"

    @property
    def experiments_module(self) -> str:
        return f"cuelab.experiments.{self.name}"


REGISTRY: tuple = (
    Study("xor_grokking", title="Benign overfitting and grokking on XOR clusters",
          paper="Xu, Wang, Frei, Vardi, Hu, *Benign Overfitting and Grokking in ReLU Networks for XOR Cluster "
                "Data*, ICLR 2024"),
    Study("input_gradients", title="Do input gradients highlight discriminative features?",
          paper="Shah, Jain, Netrapalli, *Do Input Gradients Highlight Discriminative Features?*, NeurIPS 2021"),
    Study("shortcut_cues", title="Which shortcut cues will DNNs choose? (WCST-ML)",
          paper="Scimeca, Oh, Chun, Poli, Yun, *Which Shortcut Cues Will DNNs Choose? A Study from the "
                "Parameter-Space Perspective*, ICLR 2022"),
    Study("global_shape", title="Does resistance to style transfer equal global shape bias? (DiST)",
          paper="Wen, Li, Jing, Lee, *Does resistance to style-transfer equal Global Shape Bias?* (DiST), 2023"),
    # make new-study adds its entries above this line
)

MARKER = "    # make new-study adds its entries above this line\n"

NAMES: tuple = tuple(s.name for s in REGISTRY)
PAPERS: dict = {s.name: s.paper for s in REGISTRY}  # name → citation (the site's landing page)

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*\Z")


def get(name: str) -> Study:
    """The registry entry of a study (KeyError naming the studies if there is none)."""
    for study in REGISTRY:
        if study.name == name:
            return study
    raise KeyError(f"{name!r} is not a study; the studies are: {', '.join(NAMES)}")


def new_name_problem(name: str) -> str:
    """What a new study's NAME must be, when name is not that ("" when name can be a new study)."""
    if not NAME_PATTERN.match(name or "") or not name.isidentifier():
        return ("a lower-case Python identifier (letters a–z, digits and _, starting with a letter) such as "
                "my_study: it names a module, a notebook and reports/<name>/")
    if keyword.iskeyword(name):
        return "a name that is not a Python keyword: it names a module"
    if name in NAMES:
        return f"a name that is not already a study (the studies: {', '.join(NAMES)})"
    return ""


def new_name_message(name: str) -> str:
    """The error for a NAME that cannot be a new study ("" when it can), worded as cuelab's ParameterError."""
    problem = new_name_problem(name)
    return f"NAME={name!r} is not accepted: NAME must be {problem}." if problem else ""


def readme_table() -> str:
    """The README's studies table: one row per study, linking its notebook and naming its site page."""
    rows = ["| study | paper | notebook | page in `make site` |", "|---|---|---|---|"]
    for s in REGISTRY:
        rows.append(f"| `{s.name}`: {s.title} | {s.paper} | [{s.name}.ipynb]({s.notebook}) | "
                    f"`build/site/{s.site_page}` |")
    return "\n".join(rows)


def _main(argv: list) -> int:
    if not argv:
        print(" ".join(NAMES))
        return 0
    if argv[0] == "--check-new" and len(argv) == 2:
        problem = new_name_message(argv[1])
        if problem:
            print(problem, file=sys.stderr)
            return 2
        return 0
    if argv == ["--json"]:
        print(json.dumps(list(NAMES)))
        return 0
    if argv == ["--readme-table"]:
        print(readme_table())
        return 0
    print(__doc__.split("\n\n", 2)[2].rstrip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
