"""The study registry (lib/cuelab/studies.py) and `make new-study NAME=…` (cuelab.scaffold).

Every consumer of the study list reads the one registry: cuelab.STUDIES, the Makefile (plain python3, before
setup), the site, the README's studies table and the GPU workflow's matrix. `make new-study` is run for real in a
temporary copy of the repository (its tracked and untracked-but-not-ignored files, no .venv), with this venv's
python and PYTHONPATH on the copy's lib/, and the new study's own tests and notebook check must pass there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import cuelab
from cuelab import scaffold, site, studies
from cuelab.params import ParameterError, check_study

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix) if sys.prefix != sys.base_prefix else None  # this venv: make new-study runs $(VENV)/bin/python
NEEDS_MAKE = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: int = 60):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout)


# --- the registry and its consumers ----------------------------------------------------------------------------


def test_cuelab_studies_is_the_registry_and_each_study_has_its_files() -> None:
    assert cuelab.STUDIES == studies.NAMES == tuple(s.name for s in studies.REGISTRY)
    assert len(set(cuelab.STUDIES)) == len(cuelab.STUDIES)
    for s in studies.REGISTRY:
        assert s.title and s.paper and studies.get(s.name) is s
        for path in (s.notebook, s.full_profile, f"lib/cuelab/experiments/{s.name}.py",
                     f"lib/cuelab/claims/{s.name}.py", f"tests/test_claims_{s.name}.py"):
            assert (REPO / path).is_file(), path


def test_the_registry_runs_with_plain_python_and_no_third_party_import() -> None:
    # -S: no site-packages at all, -I: nothing from the environment; the Makefile runs it before `make setup`
    out = subprocess.run([sys.executable, "-S", "-I", str(REPO / "lib" / "cuelab" / "studies.py")],
                         capture_output=True, text=True, check=True)
    assert tuple(out.stdout.split()) == cuelab.STUDIES


@NEEDS_MAKE
def test_the_makefile_reads_the_registry() -> None:
    assert "STUDIES := $(shell $(PYTHON) lib/cuelab/studies.py)" in (REPO / "Makefile").read_text()
    out = _make("-s", "studies")
    assert out.returncode == 0, out.stderr
    assert tuple(out.stdout.split()) == cuelab.STUDIES


def test_the_site_and_the_gpu_matrix_list_the_registry() -> None:
    assert tuple(site.STUDIES) == cuelab.STUDIES
    assert all(site.STUDIES[s.name] == s.paper for s in studies.REGISTRY)
    gpu = yaml.safe_load((REPO / ".github" / "workflows" / "gpu.yml").read_text())
    assert tuple(gpu["jobs"]["full-profile"]["strategy"]["matrix"]["study"]) == cuelab.STUDIES


def test_the_readme_studies_table_is_the_generated_one() -> None:
    readme = (REPO / "README.md").read_text()
    assert scaffold.readme_block(REPO) in readme, "regenerate it: python -m cuelab.scaffold is what updates it"
    for s in studies.REGISTRY:
        assert f"]({s.notebook})" in readme


def test_check_study_accepts_every_registry_entry_and_nothing_else() -> None:
    for name in cuelab.STUDIES:
        assert check_study(name) == name
    with pytest.raises(ParameterError) as err:
        check_study("demo")
    assert err.value.name == "study"


# --- refusing a bad NAME ---------------------------------------------------------------------------------------


@NEEDS_MAKE
@pytest.mark.parametrize(("name", "says"), [("", "lower-case Python identifier"), ("1x", "lower-case Python identifier"),
                                            ("My-Study", "lower-case Python identifier"), ("class", "keyword"),
                                            ("xor_grokking", "already a study")])
def test_make_new_study_refuses_a_bad_name_before_setup(name: str, says: str) -> None:
    out = _make("new-study", f"NAME={name}", "VENV=/nonexistent/venv")  # setup would fail: it must not be reached
    assert out.returncode == 2, out
    assert f"NAME={name!r} is not accepted" in out.stderr and says in out.stderr
    assert "/nonexistent/venv" not in out.stdout + out.stderr


@pytest.mark.parametrize(("name", "says"), [("1x", "Python identifier"), ("global_shape", "already a study"),
                                            ("input_gradients_theory", "do not exist yet"),
                                            ("decide", "does not already use"), ("plotting", "cuelab does not"),
                                            ("site", "cuelab does not")])
def test_create_refuses_a_bad_name_and_writes_nothing(name: str, says: str) -> None:
    before = {p: p.stat().st_mtime_ns for p in (REPO / "lib" / "cuelab" / "studies.py", REPO / "README.md")}
    with pytest.raises(ParameterError) as err:
        scaffold.create(name, REPO)
    assert err.value.name == "NAME" and says in str(err.value)
    assert {p: p.stat().st_mtime_ns for p in before} == before
    if name in ("1x", "decide", "site"):  # names with no files of their own: none may have been written
        assert not any((REPO / p).exists() for p in scaffold.files(name).values())


# --- a new study, for real, in a temporary copy ----------------------------------------------------------------


def _copy_repository(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file() and not rel.startswith((".venv/", "build/", "reports/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the copy is made from git ls-files")
    if shutil.which("make") is None or VENV is None:
        pytest.skip("needs make and a virtual environment")
    root = tmp_path_factory.mktemp("clone") / "cuelab"
    _copy_repository(root)
    env = {k: v for k, v in os.environ.items() if k not in ("CUELAB_ROOT", "CUELAB_DATA")}
    env |= {"PYTHONPATH": str(root / "lib"), "CUELAB_HEADLESS": "1"}
    # -o setup: the venv is this one, already set up (its stamp must not be rebuilt against the copy)
    made = _make("-o", "setup", "new-study", "NAME=demo", f"VENV={VENV}", 'TITLE=A demo study', cwd=root, env=env,
                 timeout=600)
    return root, env, made


def test_make_new_study_writes_the_study_and_its_registry_entry(demo) -> None:
    root, env, made = demo
    assert made.returncode == 0, made.stdout + made.stderr
    for rel in scaffold.files("demo").values():
        assert (root / rel).is_file(), rel
    listed = subprocess.run([sys.executable, "-c", "import cuelab, cuelab.site as s; from cuelab.params import "
                             "check_study; check_study('demo'); print(cuelab.__file__); print(*cuelab.STUDIES); "
                             "print(*s.STUDIES)"], cwd=root, env=env, capture_output=True, text=True, check=True)
    where, names, site_names = listed.stdout.splitlines()
    assert where.startswith(str(root)), "the copy's cuelab must be the one imported"
    assert names.split() == site_names.split() == [*cuelab.STUDIES, "demo"]
    assert _make("-s", "studies", cwd=root, env=env).stdout.split() == [*cuelab.STUDIES, "demo"]
    gpu = yaml.safe_load((root / scaffold.GPU_WORKFLOW).read_text())
    assert gpu["jobs"]["full-profile"]["strategy"]["matrix"]["study"] == [*cuelab.STUDIES, "demo"]
    readme = (root / "README.md").read_text()
    assert scaffold.readme_block(root) in readme and "](notebooks/demo.ipynb)" in readme
    again = _make("check-new-study", "NAME=demo", cwd=root, env=env)
    assert again.returncode == 2 and "already a study" in again.stderr


# Run in the copy: its prose check (numbers in markdown come from code) and its JupyterLab normal form, where the
# copy has them (cuelab.prose_check, scripts/normalize_notebooks.py).
CONVENTION_CHECKS = """
import importlib.util, pathlib, nbformat
path = pathlib.Path("notebooks/demo.ipynb")
try:
    from cuelab.prose_check import check_notebook
except ImportError:
    check_notebook = None
if check_notebook is not None:
    found = check_notebook(path)
    assert not found, found
script = pathlib.Path("scripts/normalize_notebooks.py")
if script.is_file():
    spec = importlib.util.spec_from_file_location("normalize_notebooks", script)
    norm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(norm)
    text = path.read_text(encoding="utf-8")
    nb, changes = norm.normalize(nbformat.reads(text, as_version=nbformat.NO_CONVERT))
    assert norm.text_of(nb) == text, changes or "JSON layout"
"""


def test_the_new_notebook_keeps_the_conventions(demo) -> None:
    import nbformat

    root, env, made = demo
    assert made.returncode == 0, made.stderr
    nb = nbformat.read(str(root / "notebooks" / "demo.ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"] and 'profile = "smoke"' in code[0].source
    assert code[-1].source.startswith("# NBVAL_CHECK_OUTPUT")
    assert not any(re.search(r"^\s*raise\b", c.source, re.MULTILINE) for c in code)
    assert not any(re.search(r"\bas [A-Za-z]\b", c.source) for c in code), "word imports only"
    assert "check_study_parameters(" in code[1].source and "study_config(" in code[1].source
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    verdicts = "".join(o.get("text", "") for o in code[-1].outputs)
    assert "DEMO-1  extension  holds" in verdicts  # executed by make new-study: it carries its outputs
    checks = subprocess.run([sys.executable, "-c", CONVENTION_CHECKS], cwd=root, env=env, capture_output=True,
                            text=True, timeout=120)
    assert checks.returncode == 0, checks.stdout + checks.stderr
    profile = yaml.safe_load((root / "notebooks" / "profiles" / "full" / "demo.yaml").read_text())
    from cuelab.notebook_params import check_names

    check_names(profile, root / "notebooks" / "demo.ipynb", "profile")


def test_the_new_study_passes_its_own_tests_and_its_notebook_check(demo) -> None:
    root, env, made = demo
    assert made.returncode == 0, made.stderr
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                          "tests/test_claims_demo.py", "notebooks/demo.ipynb", "--nbval-lax", "--nbval-current-env"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert re.search(r"\b1[0-9] passed\b", out.stdout), out.stdout[-2000:]  # 10 tests and the notebook's cells
    marked = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider",
                             "-m", "counterexample", "tests/test_claims_demo.py"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert marked.returncode == 0 and "3/10 tests collected" in marked.stdout, marked.stdout[-2000:]


def test_environment_yml_pins_the_makefiles_torch() -> None:
    pins = re.search(r"^TORCH\s*:=\s*(.+)$", (REPO / "Makefile").read_text(), re.MULTILINE).group(1).split()
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pins) <= set(pip), (pins, pip)


def test_the_readme_is_a_short_front_door_without_dated_measurements() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", readme), "no dated measurement in the README"
    assert not re.search(r"measured (on|here)|\b\d+(\.\d+)? ?(s|min) (wall|on \d)", readme)
    for target in re.findall(r"\]\(([^)#]+)\)", readme):  # every relative link and picture exists in the clone
        if "://" not in target:
            assert (REPO / target).exists(), target
    assert "make setup" in readme and "make reproduce-all" in readme and "make help" in readme
    assert (REPO / "CONTRIBUTING.md").is_file() and "make new-study NAME=" in (REPO / "CONTRIBUTING.md").read_text()
