"""Committed reference results: recorded from a complete run of a clean commit only, and compared claim by claim."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cuelab import results, runstore
from cuelab.claims import ClaimTable, at_least, at_most
from cuelab.intervals import Estimate
from cuelab.params import ParameterError


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with one commit: pyproject.toml and lib/cuelab/ are what repo_root looks for."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fake'\n")
    (tmp_path / "lib" / "cuelab").mkdir(parents=True)
    (tmp_path / "lib" / "cuelab" / "code.py").write_text("x = 1\n")
    (tmp_path / ".gitignore").write_text("/reports/\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "one")
    monkeypatch.setenv("CUELAB_ROOT", str(tmp_path))
    monkeypatch.delenv("CUELAB_RUN_DIR", raising=False)
    return tmp_path


def _run(root: Path, *, profile: str = "full", xor4: float = 0.08, commit: str | None = None, seeds: int = 100,
         scores: dict | None = None) -> runstore.Run:
    commit = commit or _git(root, "rev-parse", "HEAD")
    folder = runstore.create_run("xor_grokking", profile, f"{seeds:020d}", root,
                                 {"commit": commit, "inputs": {"parameters": {"profile": profile, "n_seeds": seeds}}})
    table = ClaimTable("xor_grokking", profile, seed=0)
    r = dict(kind="reproduction", source="Fig. 1")
    table.check("XOR-1", "accuracy", paper=1.0, measured=Estimate(0.99, 0.98, 1.0, seeds, f"{seeds} runs"),
                rule=at_least(0.9), **r)
    table.check("XOR-4", "error", paper=0.1, measured=Estimate(xor4, xor4 - 0.01, xor4 + 0.01, seeds, f"{seeds} runs"),
                rule=at_most(0.1), **r)
    table.check("XOR-S", "a sanity check", paper=1, measured=1.0, rule=at_least(1), kind="sanity", source="by design")
    path = table.write(folder)
    data = json.loads(path.read_text())
    data["environment"]["commit"] = commit  # what the kernel of a run in this checkout would have recorded
    path.write_text(json.dumps(data))
    if scores is not None:
        (folder / "scores.json").write_text(json.dumps(scores))
    (folder / "xor_grokking.ipynb").write_text("{}")
    runstore.write_record(folder, runstore.read_record(folder) | {"status": "complete", "wall_s": 1234.5})
    runstore.promote(folder, root)
    return runstore.latest_run("xor_grokking", profile, root)


def test_record_writes_claims_intervals_provenance_and_scores(root: Path) -> None:
    run = _run(root, scores={"per_run_error": [0.07, 0.09, None]})
    path = results.record("xor_grokking", "full", root)
    assert path == root / "results" / "xor_grokking" / "full.json"
    data = results.load_reference(path)
    assert data["run"] == run.id and data["profile"] == "full"
    prov = data["provenance"]
    assert prov["commit"] == _git(root, "rev-parse", "HEAD") and "+dirty" not in prov["commit"]
    assert prov["wall_s"] == 1234.5 and prov["parameters"] == {"profile": "full", "n_seeds": 100}
    assert prov["versions"]["torch"] and prov["device"] and prov["run_key"] == run.key
    xor4 = next(c for c in data["claims"] if c["id"] == "XOR-4")
    assert xor4["interval"] == [0.07, 0.09] and xor4["resampled"] == "100 runs" and xor4["verdict"] == "holds"
    assert data["scores"] == {"per_run_error": [0.07, 0.09, None]}
    assert data["summary"]["reproduction"]["holds"] == 2


def test_record_refuses_a_dirty_tree_and_a_run_made_from_one(root: Path) -> None:
    _run(root)
    (root / "lib" / "cuelab" / "code.py").write_text("x = 2\n")  # an uncommitted change to a tracked file
    with pytest.raises(results.RecordError, match="uncommitted changes"):
        results.record("xor_grokking", "full", root)
    assert not (root / "results").exists()
    _git(root, "checkout", "-q", "--", ".")
    _run(root, commit=_git(root, "rev-parse", "HEAD") + "+dirty", seeds=99)
    with pytest.raises(results.RecordError, match="not from one clean commit"):
        results.record("xor_grokking", "full", root)
    _run(root, commit="f" * 40, seeds=98)
    with pytest.raises(results.RecordError, match="not in this checkout's history"):
        results.record("xor_grokking", "full", root)
    with pytest.raises(results.RecordError, match="no complete run of profile 'smoke'"):
        results.record("xor_grokking", "smoke", root)


def test_cli_record_refuses_a_dirty_tree_with_exit_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(root)
    (root / "pyproject.toml").write_text("[project]\nname = 'changed'\n")
    assert results.main(["record", "--study", "xor_grokking", "--profile", "full"]) == 2
    assert "uncommitted changes" in capsys.readouterr().err


def test_compare_agrees_with_its_own_reference_and_reports_each_difference(root: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _run(root)
    results.record("xor_grokking", "full", root)
    assert results.main(["compare", "--study", "xor_grokking", "--profile", "full"]) == 0
    assert "agrees with results/xor_grokking/full.json" in capsys.readouterr().out
    # a fresh run whose XOR-4 moved outside the reference's interval and now straddles the threshold
    _run(root, xor4=0.1, seeds=101)
    diffs, run, _ = results.compare("xor_grokking", "full", root)
    what = {(d.claim, d.what) for d in diffs}
    assert ("XOR-4", "verdict") in what and ("XOR-4", "measured") in what and ("parameters", "n_seeds") in what
    xor4 = next(d for d in diffs if d.claim == "XOR-4" and d.what == "measured")
    assert "outside the reference interval [0.07, 0.09]" in xor4.note and xor4.fresh == "0.1 [0.09, 0.11] (101 runs)"
    assert results.main(["compare", "--all", "--profile", "full"]) == 1
    out = capsys.readouterr().out
    assert "difference(s)" in out and "inconclusive" in out and "claim" in out.splitlines()[1]


def test_values_compare_on_the_reference_interval_or_a_tolerance() -> None:
    assert results.value_difference(0.5, [0.4, 0.6], 0.59) == ""
    assert "outside" in results.value_difference(0.5, [0.4, 0.6], 0.61)
    assert results.value_difference(1.0, None, 1.0 + 1e-9) == ""  # a point value: equal within the tolerance
    assert "point value" in results.value_difference(1.0, None, 1.01)
    assert results.value_difference([0.5, 2.0], [[0.4, 0.6], None], [0.45, 2.0]) == ""
    assert "part 2" in results.value_difference([0.5, 2.0], [[0.4, 0.6], None], [0.45, 2.5])
    assert results.value_difference("yes", None, "no") != "" and results.value_difference(None, None, None) == ""
    assert "shape" in results.value_difference([1.0, 2.0], None, 1.0)


def test_an_old_claims_file_without_intervals_compares_as_point_values() -> None:
    ref = {"study": "xor_grokking", "profile": "smoke", "claims": [{"id": "A", "measured": 0.5, "verdict": "holds"}]}
    fresh = {"claims": [{"id": "A", "measured": 0.5, "verdict": "holds"}, {"id": "B", "measured": 1, "verdict": "fails"}]}
    diffs = results.compare_claims(ref, fresh)
    assert [(d.claim, d.what) for d in diffs] == [("B", "new")]


def test_compare_without_a_reference_or_a_run_exits_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert results.main(["compare", "--study", "xor_grokking", "--profile", "full"]) == 2
    assert "make record" in capsys.readouterr().err
    assert results.main(["compare", "--all"]) == 0  # no reference of the profile yet: nothing to compare
    assert "nothing to compare" in capsys.readouterr().out


def test_scores_are_numbers_only_and_small(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = runstore.create_run("global_shape", "full", "9" * 20, root)
    monkeypatch.setenv("CUELAB_RUN_DIR", str(folder))
    path = results.save_scores("global_shape", {"lite0": np.array([1.0, 0.5, 0.0]), "n": np.int64(3)})
    assert path == folder.resolve() / "scores.json"
    assert json.loads(path.read_text()) == {"lite0": [1.0, 0.5, 0.0], "n": 3}
    for bad in ({"names": ["a", "b"]}, {"x": float("inf")}, {"x": list(range(results.MAX_SCORES + 1))}):
        with pytest.raises(ParameterError):
            results.save_scores("global_shape", bad)


def test_compare_reads_a_claims_json_that_a_notebook_wrote_outside_the_runner(root: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """make test's nbval execution writes reports/<study>/claims.json; compare-all CLAIMS_DIR=reports checks it."""
    run = _run(root)
    results.record("xor_grokking", "full", root)
    written = root / "elsewhere" / "xor_grokking" / "claims.json"
    written.parent.mkdir(parents=True)
    written.write_text(run.claims_path.read_text())
    assert results.main(["compare", "--all", "--profile", "full", "--claims-dir", str(root / "elsewhere")]) == 0
    assert "elsewhere/xor_grokking/claims.json agrees with" in capsys.readouterr().out
    data = json.loads(written.read_text())
    data["claims"][1]["measured"], data["claims"][1]["interval"], data["claims"][1]["verdict"] = 0.2, [0.19, 0.21], "fails"
    written.write_text(json.dumps(data))
    assert results.main(["compare", "--all", "--profile", "full", "--claims-dir", str(root / "elsewhere")]) == 1
    assert "XOR-4" in capsys.readouterr().out
