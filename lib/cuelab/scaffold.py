"""`make new-study NAME=…`: scaffold a study that runs and passes its own tests out of the box.

    python -m cuelab.scaffold NAME [--title "…"] [--paper "…"] [--execute]

writes, under the repository root,

    notebooks/<name>.ipynb                  parameters cell (tagged), sections, claims cell, verdict cell
    notebooks/profiles/full/<name>.yaml     the full profile
    lib/cuelab/experiments/<name>.py        check_study_parameters, study_config, a tiny seeded experiment
    lib/cuelab/claims/<name>.py             one example claim decided on an interval (cuelab.intervals)
    tests/test_claims_<name>.py             its holding case, a counterexample and an inconclusive case

and adds the study to the registry (lib/cuelab/studies.py), to the README's studies table and to the GPU
workflow's matrix. It refuses a NAME that is not a lower-case Python identifier, is already a study, or would
overwrite a file or shadow a name of cuelab.claims / cuelab.experiments, before writing anything.
With --execute it then runs the new notebook once with papermill (a few seconds), so it carries the outputs
nbval compares and the site shows. The example experiment is a placeholder: replace it with the paper's.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from string import Template

import nbformat

from cuelab.io import atomic_write_text
from cuelab.params import ParameterError
from cuelab.paths import repo_root

README_BEGIN = "<!-- studies table: generated from lib/cuelab/studies.py (make new-study updates it) -->"
README_END = "<!-- end of studies table -->"
GPU_WORKFLOW = ".github/workflows/gpu.yml"


def files(name: str) -> dict[str, str]:
    """What the scaffold writes for a study: {role: path relative to the repository root}."""
    return {
        "notebook": f"notebooks/{name}.ipynb",
        "profile": f"notebooks/profiles/full/{name}.yaml",
        "experiment": f"lib/cuelab/experiments/{name}.py",
        "claims": f"lib/cuelab/claims/{name}.py",
        "tests": f"tests/test_claims_{name}.py",
    }


def claim_prefix(name: str) -> str:
    """The claim-id prefix of a study: my_study → MY-STUDY (its claims are MY-STUDY-1, MY-STUDY-2, …)."""
    return name.upper().replace("_", "-")


# ---------------------------------------------------------------------------------------------------------------
# Checks


def _registry_names(root: Path) -> tuple[str, ...]:
    """The study names in root's registry, read by running it (it may differ from the imported cuelab's)."""
    out = subprocess.run([sys.executable, str(root / "lib" / "cuelab" / "studies.py")], capture_output=True,
                         text=True, check=True)
    return tuple(out.stdout.split())


def check_new_name(name: str, root: Path) -> None:
    """Raise ParameterError("NAME", …) unless name can be a new study in root."""
    import cuelab.claims
    import cuelab.experiments
    from cuelab import studies

    problem = studies.new_name_problem(name)
    if not problem and name in _registry_names(root):
        problem = "a name that is not already a study"
    if problem:
        raise ParameterError("NAME", name, problem)
    taken = [p for p in files(name).values() if (root / p).exists()]
    if (root / "lib" / "cuelab" / "experiments" / name).exists() or (root / "lib" / "cuelab" / "claims" / name).exists():
        taken.append(f"lib/cuelab/{{experiments,claims}}/{name}/")
    if taken:
        raise ParameterError("NAME", name, "a name whose files do not exist yet; these do: " + ", ".join(taken))
    lib = root / "lib" / "cuelab"
    if (lib / name).exists() or (lib / f"{name}.py").exists() or name in ("site", "bench"):
        raise ParameterError("NAME", name, f"a name that cuelab does not already use (cuelab.{name} or reports/{name}/ "
                             "is taken)")
    for package in (cuelab.claims, cuelab.experiments):
        if hasattr(package, name):
            raise ParameterError("NAME", name, f"a name that {package.__name__} does not already use "
                                 f"({package.__name__}.{name} exists: a module of that name would shadow it)")


# ---------------------------------------------------------------------------------------------------------------
# Templates (string.Template: ${name}, ${title}, ${paper}, ${prefix})

EXPERIMENT = '''"""The ${name} study's experiment: ${title}.

Scaffolded by `make new-study`: a tiny seeded experiment with a real number, to be replaced by the paper's own.
Two Gaussian clusters in `dim` dimensions with centres ±separation/2 on the first axis (labels ±1, equally
likely). Each run (seeds seed, seed+1, …) fits a least-squares linear classifier on `n_train` points and scores
it on `n_test` fresh ones; it fits once more on the same points with their labels shuffled, a negative control
that must test at chance. Everything is numpy, so a run takes milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cuelab.params import ParameterError, check_in_interval, check_positive_int

STUDY = "${name}"


@dataclass(frozen=True)
class StudyConfig:
    """The experiment's configuration, built from the notebook's parameters by study_config()."""

    seed: int
    n_seeds: int
    dim: int
    n_train: int
    n_test: int
    separation: float

    @property
    def seeds(self) -> list[int]:
        return list(range(self.seed, self.seed + self.n_seeds))

    @property
    def bayes_accuracy(self) -> float:
        """The best accuracy any classifier can reach: Φ(separation / 2) (an independent check of the runs)."""
        return 0.5 * (1 + math.erf(self.separation / 2 / math.sqrt(2)))


def check_study_parameters(*, seed: int, n_seeds: int, dim: int, n_train: int, n_test: int,
                           separation: float) -> None:
    """The notebook's parameters, values and combinations, checked without data or training (well under 1 s).

    Raises ParameterError naming the parameter, its value and what it accepts.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError("seed", seed, "an integer ≥ 0")
    for name, value in dict(n_seeds=n_seeds, dim=dim, n_train=n_train, n_test=n_test).items():
        check_positive_int(name, value)
    if n_seeds < 2:
        raise ParameterError("n_seeds", n_seeds, "at least 2: the claim's interval is a bootstrap over runs")
    if n_train <= dim:
        raise ParameterError("n_train", n_train, f"more than dim (= {dim}): the least-squares fit needs more "
                             "points than dimensions; raise n_train or lower dim")
    check_in_interval("separation", separation, 0.0, math.inf)


def study_config(*, seed: int, n_seeds: int, dim: int, n_train: int, n_test: int, separation: float) -> StudyConfig:
    """The study's configuration from the notebook's parameters (checked first)."""
    check_study_parameters(seed=seed, n_seeds=n_seeds, dim=dim, n_train=n_train, n_test=n_test,
                           separation=separation)
    return StudyConfig(seed=seed, n_seeds=n_seeds, dim=dim, n_train=n_train, n_test=n_test,
                       separation=float(separation))


def sample(config: StudyConfig, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points of the two clusters and their labels (±1)."""
    y = rng.choice(np.array([-1.0, 1.0]), size=n)
    x = rng.standard_normal((n, config.dim))
    x[:, 0] += y * config.separation / 2
    return x, y


def _fit_and_score(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    design = np.c_[x, np.ones(len(x))]
    w, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(np.mean(np.sign(np.c_[x_test, np.ones(len(x_test))] @ w) == y_test))


def run_one(config: StudyConfig, seed: int) -> dict[str, float]:
    """One run: test accuracy of the classifier, and of the same fit on shuffled labels (the control)."""
    rng = np.random.default_rng(seed)  # one generator per run: same seed, same numbers
    x, y = sample(config, config.n_train, rng)
    x_test, y_test = sample(config, config.n_test, rng)
    shuffled = rng.permutation(y)
    return {"seed": seed, "test_acc": _fit_and_score(x, y, x_test, y_test),
            "shuffled_test_acc": _fit_and_score(x, shuffled, x_test, y_test)}


def run(config: StudyConfig) -> pd.DataFrame:
    """Every run, one row per seed."""
    rows = [run_one(config, seed) for seed in config.seeds]
    print(f"{STUDY}: {len(rows)} of {config.n_seeds} runs done")  # progress on stdout, at its final state
    return pd.DataFrame(rows)
'''

CLAIMS = '''"""Claim rules of the ${name} study (${title}), one function per claim id.

Every rule takes one `StudyResults` (what the notebook measured) and returns a claims.Claim decided on a 95%
interval: it holds when the whole interval satisfies the rule, fails when none of it does, and is inconclusive
otherwise. ${prefix}-1 is the scaffold's example: replace it with the paper's claims, each citing the figure,
table or section its paper value comes from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from cuelab import claims, intervals

STUDY = "${name}"

ACCURACY_THRESHOLD = 0.6  # ours: chance (0.5) + 0.1, fixed before any run


@dataclass(frozen=True)
class StudyResults:
    """What the notebook measured: one test accuracy per run, and the shuffled-label control's (None: not run)."""

    test_acc: Sequence[float]
    shuffled_test_acc: Sequence[float] | None = None
    separation: float | None = None

    @classmethod
    def from_runs(cls, runs: pd.DataFrame, separation: float | None = None) -> StudyResults:
        """From cuelab.experiments.${name}.run's table (one row per seed)."""
        control = runs["shuffled_test_acc"].tolist() if "shuffled_test_acc" in runs else None
        return cls(runs["test_acc"].tolist(), control, separation)


def _bayes(separation: float) -> float:
    return 0.5 * (1 + math.erf(separation / 2 / math.sqrt(2)))


def claim_1(r: StudyResults) -> claims.Claim:
    """Example: a least-squares linear classifier clearly beats chance on two Gaussian clusters."""
    measured = intervals.over_runs(r.test_acc, unit="runs")
    control = None
    if r.shuffled_test_acc is not None:
        control = ("labels shuffled before training", intervals.over_runs(r.shuffled_test_acc, unit="runs"))
    detail = f"worst run {min(r.test_acc):.3f}" if len(r.test_acc) else ""
    if r.separation is not None:  # an independent computation beside the measured one
        detail += f"; the best any classifier can do, Φ(separation/2), is {_bayes(r.separation):.3f}"
    return claims.decide(
        "${prefix}-1", "a linear classifier clearly beats chance on two Gaussian clusters (the scaffold's example)",
        kind="extension", paper=None,
        source="not in a paper: the scaffold's example claim; replace it with the paper's, citing its figure or table",
        measured=measured, rule=claims.at_least(ACCURACY_THRESHOLD, what="median test accuracy over runs"),
        detail=detail, control=control,
    )


RULES = {"${prefix}-1": claim_1}


def decide_all(r: StudyResults) -> list[claims.Claim]:
    """Every claim of the study, in order."""
    return [rule(r) for rule in RULES.values()]
'''

TESTS = '''"""The ${name} claim rules: each holds on a result that shows the finding, fails on a counterexample and is
inconclusive when its interval straddles the threshold. The experiment's own functions are checked too."""

import pytest

from claim_checks import assert_has_interval, assert_holds_and_fails, assert_inconclusive
from cuelab.claims import ${name} as study_claims
from cuelab.experiments import ${name} as experiment
from cuelab.params import ParameterError

PARAMETERS = dict(seed=0, n_seeds=5, dim=5, n_train=100, n_test=200, separation=2.0)

HOLDING = study_claims.StudyResults([0.80, 0.82, 0.79, 0.81, 0.83], [0.50, 0.49, 0.52, 0.51, 0.48], separation=2.0)
# counterexample: the classifier is at chance
FAILING = study_claims.StudyResults([0.50, 0.52, 0.49, 0.51, 0.48])
# the runs spread across the threshold: the interval straddles 0.6
STRADDLING = study_claims.StudyResults([0.50, 0.55, 0.60, 0.65, 0.70])


def test_every_claim_id_has_a_rule_with_a_kind_and_source():
    claimed = study_claims.decide_all(HOLDING)
    assert [c.id for c in claimed] == list(study_claims.RULES)
    for claim in claimed:
        assert claim.kind in ("reproduction", "sanity", "extension") and claim.source
        assert_has_interval(claim)


@pytest.mark.counterexample
def test_counterexample_claim_1_fails_at_chance_and_holds_well_above():
    assert_holds_and_fails(study_claims.claim_1, HOLDING, FAILING)


@pytest.mark.counterexample
def test_counterexample_claim_1_is_inconclusive_when_the_interval_straddles_the_threshold():
    assert_inconclusive(study_claims.claim_1, STRADDLING)


@pytest.mark.counterexample
def test_counterexample_claim_1_cannot_hold_when_its_control_passes_too():
    control_passes = study_claims.StudyResults(HOLDING.test_acc, HOLDING.test_acc)
    assert study_claims.claim_1(control_passes).verdict == "fails"


def test_the_experiment_is_seeded_and_gives_the_independent_bayes_bound():
    config = experiment.study_config(**PARAMETERS)
    first, again = experiment.run(config), experiment.run(config)
    assert first.equals(again)  # same seed, same numbers
    bayes = config.bayes_accuracy  # Φ(1) ≈ 0.841
    assert abs(bayes - 0.8413) < 1e-3
    assert (first.test_acc <= bayes + 0.1).all() and first.test_acc.median() > 0.7
    assert abs(first.shuffled_test_acc.median() - 0.5) < 0.1
    assert study_claims.claim_1(study_claims.StudyResults.from_runs(first, separation=2.0)).verdict == "holds"


@pytest.mark.parametrize(("name", "value"), [("n_seeds", 1), ("dim", 0), ("separation", -1.0), ("seed", -1),
                                             ("n_train", 5)])
def test_a_bad_parameter_is_named(name, value):
    with pytest.raises(ParameterError) as err:
        experiment.check_study_parameters(**(PARAMETERS | {name: value}))
    assert err.value.name == name
'''

PROFILE = '''# Full profile of ${name}: papermill parameters over the notebook's smoke defaults.
# make reproduce STUDY=${name} PROFILE=full. Every name must be a parameter of notebooks/${name}.ipynb.
# Write floats with a dot (1.0e-15): YAML reads 1e-15 as a string.
n_seeds: 100
n_train: 2000
n_test: 5000
'''

INTRO = '''# ${title}

**Paper.** ${paper}. *Scaffolded by `make new-study`: replace this cell with the paper, its story and its claim
ids, and the example experiment with the paper's.*

**The story.** In three sentences: what the paper finds, and how this notebook tests it.

**Claims.** ${prefix}-1 (the scaffold's example), decided in the table at the end. Each claim has a kind:
*reproduction* (the paper's finding), *sanity* check (true by construction) or *extension* (ours).

**Profiles.** The defaults below are the **smoke** profile (seconds on a laptop CPU);
`notebooks/profiles/full/${name}.yaml` holds the paper-scale values (`make reproduce STUDY=${name} PROFILE=full`).'''

PARAMETERS_CELL = '''# Parameters (papermill injects over this cell). Defaults: the smoke profile.
profile = "smoke"
seed = 0                      # runs use seeds seed, seed+1, ..., seed+n_seeds-1
n_seeds = 10                  # independent runs: the claim's interval is a bootstrap over them
dim = 20                      # input dimension
n_train = 200                 # training points per run (more than dim)
n_test = 500                  # test points per run
separation = 1.5              # distance between the two cluster centres'''

SETUP_CELL = '''import time

started = time.time()

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from cuelab import claims
from cuelab.claims import ${name} as study_claims
from cuelab.experiments import ${name} as experiment
from cuelab.params import check_profile
from cuelab.paths import reports_dir
from cuelab.plotting import save, use_house_style
from cuelab.prose import say

use_house_style()
check_profile(profile)
parameters = dict(seed=seed, n_seeds=n_seeds, dim=dim, n_train=n_train, n_test=n_test, separation=separation)
experiment.check_study_parameters(**parameters)
config = experiment.study_config(**parameters)
out = reports_dir("${name}")
figures = out / "figures"
print(f"Data source: two Gaussian clusters generated in memory (offline, nothing downloaded): dim={dim}, "
      f"separation={separation}, {n_seeds} runs")'''

DATA_MD = '''## 1 · The data

Two Gaussian clusters with identity covariance, centred at ±separation/2 on the first coordinate; the label says
which cluster a point comes from. Below: one run's training set on its first two coordinates.'''

DATA_CELL = '''x, y = experiment.sample(config, config.n_train, np.random.default_rng(config.seed))
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=12)
ax.set(xlabel="coordinate 1 (the signal)", ylabel="coordinate 2 (noise)", title="One run's training set")
save(fig, figures, "data")
plt.show()'''

EXPERIMENT_MD = '''## 2 · The experiment

Each run fits a least-squares linear classifier and scores it on fresh test points; it fits once more with the
training labels shuffled, a negative control that must test at chance.'''

EXPERIMENT_CELL = '''runs = experiment.run(config)
display(runs.round(3))
say(f"Median test accuracy over {len(runs)} runs: **{runs.test_acc.median():.3f}** (with shuffled training labels: "
    f"{runs.shuffled_test_acc.median():.3f}; chance is 0.5; the best any classifier can do is "
    f"{config.bayes_accuracy:.3f}).")'''

CLAIMS_MD = '''## 3 · Claims: the paper beside this run

Each claim is decided on its 95% interval by a rule in `cuelab.claims.${name}` (tested against a counterexample
in `tests/test_claims_${name}.py`): it holds when the whole interval satisfies the rule, fails when none of it
does, and is inconclusive otherwise. The shuffled-label control is decided by the same rule and must fail.'''

CLAIMS_CELL = '''results = study_claims.StudyResults.from_runs(runs, separation=separation)
table = claims.ClaimTable("${name}", profile=profile, seed=seed).add(*study_claims.decide_all(results))
path = table.write(out, started=started)
print(f"wrote {path.name} under reports/${name}/; wall time so far {time.time() - started:.0f} s")
display(table)
say(table.explain())'''

VERDICT_CELL = '''# NBVAL_CHECK_OUTPUT
print(table.verdicts())'''


def _fill(template: str, values: dict[str, str]) -> str:
    return Template(template).substitute(values)


def notebook(values: dict[str, str]) -> nbformat.NotebookNode:
    """The study's notebook: intro, parameters (tagged), setup, data, experiment, claims and the verdict cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
    }
    cells = [("markdown", INTRO), ("code", PARAMETERS_CELL), ("code", SETUP_CELL), ("markdown", DATA_MD),
             ("code", DATA_CELL), ("markdown", EXPERIMENT_MD), ("code", EXPERIMENT_CELL), ("markdown", CLAIMS_MD),
             ("code", CLAIMS_CELL), ("code", VERDICT_CELL)]
    prefix = values["name"].replace("_", "-")[:24]
    for i, (kind, text) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(_fill(text, values))
        cell.id = f"{prefix}-{i:02d}"
        if i == 1:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


# ---------------------------------------------------------------------------------------------------------------
# Registry, README and workflow


def registry_entry(name: str, title: str, paper: str) -> str:
    return f"    Study({name!r}, title={title!r},\n          paper={paper!r}),\n"


def add_to_registry(root: Path, name: str, title: str, paper: str) -> None:
    from cuelab.studies import MARKER

    path = root / "lib" / "cuelab" / "studies.py"
    text = path.read_text(encoding="utf-8")
    if text.count(MARKER) != 1:
        raise RuntimeError(f"{path}: the line {MARKER.strip()!r} must appear once (new entries go above it)")
    atomic_write_text(path, text.replace(MARKER, registry_entry(name, title, paper) + MARKER))


def readme_block(root: Path) -> str:
    """The README's studies table as the registry in root generates it, between its markers."""
    table = subprocess.run([sys.executable, str(root / "lib" / "cuelab" / "studies.py"), "--readme-table"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return f"{README_BEGIN}\n{table}\n{README_END}"


def update_readme(root: Path) -> bool:
    """Regenerate the README's studies table from the registry (False when the README has no markers)."""
    path = root / "README.md"
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_BEGIN) + r".*?" + re.escape(README_END), re.DOTALL)
    if not pattern.search(text):
        return False
    atomic_write_text(path, pattern.sub(lambda _: readme_block(root), text, count=1))
    return True


def update_gpu_matrix(root: Path, names: tuple[str, ...]) -> bool:
    """Set the GPU workflow's `study: [...]` matrix to the registry's names (False when there is none)."""
    path = root / GPU_WORKFLOW
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(r"^(\s+study:\s*)\[[^\]\n]*\]", re.MULTILINE)
    if len(pattern.findall(text)) != 1:
        return False
    atomic_write_text(path, pattern.sub(lambda m: m.group(1) + "[" + ", ".join(names) + "]", text))
    return True


# ---------------------------------------------------------------------------------------------------------------
# The command


def create(name: str, root: str | Path | None = None, *, title: str = "", paper: str = "") -> dict[str, Path]:
    """Scaffold study `name` under root (default: this repository); return {role: path} of what it wrote."""
    root = Path(root) if root else repo_root()
    if not (root / "lib" / "cuelab" / "studies.py").is_file():
        raise FileNotFoundError(f"{root} is not a cuelab checkout: it has no lib/cuelab/studies.py")
    check_new_name(name, root)
    for label, text in (("TITLE", title), ("PAPER", paper)):
        if '"""' in text or "\\" in text or "\n" in text or "$" in text:
            raise ParameterError(label, text, 'one line of text without \\, $ or """ (it goes into docstrings)')
    title = title or name.replace("_", " ").capitalize()
    paper = paper or "Authors, *Title of the paper*, venue, year (fill in)"
    values = {"name": name, "title": title, "paper": paper, "prefix": claim_prefix(name)}
    written = {}
    texts = {"experiment": EXPERIMENT, "claims": CLAIMS, "tests": TESTS, "profile": PROFILE}
    for role, rel in files(name).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if role == "notebook":
            atomic_write_text(path, nbformat.writes(notebook(values)) + "\n")
            normalize_notebook(path, root)
        else:
            atomic_write_text(path, _fill(texts[role], values))
        written[role] = path
    add_to_registry(root, name, title, paper)
    names = _registry_names(root)
    if name not in names:
        raise RuntimeError(f"the registry does not list {name} after the scaffold added it: see lib/cuelab/studies.py")
    if update_readme(root):
        written["readme"] = root / "README.md"
    if update_gpu_matrix(root, names):
        written["gpu workflow"] = root / GPU_WORKFLOW
    written["registry"] = root / "lib" / "cuelab" / "studies.py"
    return written


def normalize_notebook(path: Path, root: Path) -> bool:
    """Save the notebook as JupyterLab writes it, with scripts/normalize_notebooks.py (False when there is none)."""
    script = root / "scripts" / "normalize_notebooks.py"
    if not script.is_file():
        return False
    spec = importlib.util.spec_from_file_location("normalize_notebooks", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    nb, _ = module.normalize(nbformat.read(str(path), as_version=nbformat.NO_CONVERT))
    atomic_write_text(path, module.text_of(nb))
    return True


def execute(name: str, root: str | Path | None = None) -> Path:
    """Run the study's notebook once in place with papermill (its smoke defaults), so it carries outputs."""
    import papermill

    root = Path(root) if root else repo_root()
    path = root / files(name)["notebook"]
    os.environ.setdefault("CUELAB_HEADLESS", "1")
    papermill.execute_notebook(str(path), str(path), kernel_name="python3", language="python",
                               cwd=str(root / "notebooks"), progress_bar=False)
    normalize_notebook(path, root)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cuelab.scaffold", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the study's name: a lower-case Python identifier, e.g. my_study")
    parser.add_argument("--title", default="", help="a short title (default: from the name)")
    parser.add_argument("--paper", default="", help="the citation: authors, *title*, venue, year")
    parser.add_argument("--execute", action="store_true", help="run the new notebook once so it carries outputs")
    parser.add_argument("--root", default=None, help="the repository root (default: found from the cwd)")
    args = parser.parse_args(argv)
    root = Path(args.root) if args.root else repo_root()
    try:
        written = create(args.name, root, title=args.title, paper=args.paper)
    except ParameterError as err:
        print(f"make new-study: {err}", file=sys.stderr)
        return 2
    for role, path in written.items():
        print(f"  {role:<13} {path.relative_to(root)}")
    if args.execute:
        print(f"executing {files(args.name)['notebook']} (smoke defaults) …", flush=True)
        execute(args.name, root)
    print(f"study {args.name} scaffolded. Next: .venv/bin/python -m pytest tests/test_claims_{args.name}.py; "
          f"make reproduce STUDY={args.name}; CONTRIBUTING.md walks through the rest.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
