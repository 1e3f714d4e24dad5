"""The run store: one folder per run, an atomic promotion of complete runs only, listing and explicit pruning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cuelab import runstore
from cuelab.claims import ClaimTable, at_least
from cuelab.intervals import Estimate
from cuelab.paths import reports_dir


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fake'\n")
    (tmp_path / "lib" / "cuelab").mkdir(parents=True)
    monkeypatch.setenv("CUELAB_ROOT", str(tmp_path))
    monkeypatch.delenv("CUELAB_RUN_DIR", raising=False)
    return tmp_path


def _run(root: Path, profile: str = "smoke", key: str = "a" * 20, status: str = "complete", value: float = 1.0) -> Path:
    folder = runstore.create_run("xor_grokking", profile, key, root)
    table = ClaimTable("xor_grokking", profile, seed=0)
    table.check("XOR-1", "x", paper=1, measured=Estimate(value, value - 0.1, value + 0.1, 20, "20 runs"),
                rule=at_least(0.85), kind="reproduction", source="Fig. 1")
    table.write(folder)
    (folder / "xor_grokking.ipynb").write_text("{}")
    runstore.write_record(folder, runstore.read_record(folder) | {"status": status, "wall_s": 12.0})
    if status == "complete":
        runstore.promote(folder, root)
    return folder


def test_run_ids_sort_by_time_and_name_profile_and_key(root: Path) -> None:
    a = runstore.create_run("xor_grokking", "smoke", "0123456789abcdef0000", root)
    b = runstore.create_run("xor_grokking", "smoke", "0123456789abcdef0000", root)  # the same second: a new folder
    assert a != b and a.name.endswith("-smoke-01234567") and b.name.startswith(a.name)
    assert runstore.read_record(a)["status"] == "running" and runstore.status(a) == "running"


def test_only_a_complete_run_is_promoted_and_smoke_and_full_stay_apart(root: Path) -> None:
    smoke = _run(root, "smoke")
    full = _run(root, "full", key="b" * 20)
    assert runstore.latest_run("xor_grokking", "smoke", root).folder == smoke
    assert runstore.latest_run("xor_grokking", "full", root).folder == full
    assert runstore.latest_claims("xor_grokking", "full", root) == full / "claims.json"
    failed = _run(root, "smoke", key="c" * 20, status="failed")
    with pytest.raises(ValueError, match="not a complete run"):
        runstore.promote(failed, root)
    assert runstore.latest_run("xor_grokking", "smoke", root).folder == smoke
    assert json.loads(runstore.pointer_path("xor_grokking", "smoke", root).read_text())["run"] == smoke.name
    assert (root / "reports" / "xor_grokking" / "smoke").resolve() == smoke.resolve()
    assert runstore.profiles_with_runs("xor_grokking", root) == ["smoke", "full"]


def test_a_complete_run_whose_files_went_missing_is_not_the_latest(root: Path) -> None:
    first = _run(root)
    second = _run(root, key="d" * 20)
    (second / "claims.json").unlink()
    assert runstore.status(second) == "failed"
    assert runstore.latest_run("xor_grokking", "smoke", root).folder == first  # the pointer's run is gone: newest complete


def test_the_notebook_writes_into_its_run_folder_under_the_runner(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = runstore.create_run("xor_grokking", "smoke", "e" * 20, root)
    monkeypatch.setenv("CUELAB_RUN_DIR", str(folder))
    assert reports_dir("xor_grokking") == folder.resolve()
    assert reports_dir("global_shape") == root / "reports" / "global_shape"  # another study's folder is not this run's
    assert reports_dir("xor_grokking", root) == root / "reports" / "xor_grokking"  # an explicit root wins
    monkeypatch.delenv("CUELAB_RUN_DIR")
    assert reports_dir("xor_grokking") == root / "reports" / "xor_grokking"  # JupyterLab: the study's folder


def test_the_table_lists_status_time_wall_and_verdict_counts(root: Path) -> None:
    _run(root)
    _run(root, key="f" * 20, value=0.86)  # straddles 0.85: inconclusive
    failed = _run(root, key="1" * 20, status="failed")
    runstore.write_record(failed, runstore.read_record(failed) | {"error": "ValueError: boom"})
    text = runstore.table(root)
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["study", "profile", "status", "started", "(UTC)"]
    assert any("complete" in x and "R 1/0/0/0" in x for x in lines)
    assert any("complete" in x and "R 0/0/1/0" in x and "← latest" in x for x in lines)  # inconclusive apart
    assert any("failed" in x and "ValueError: boom" in x for x in lines)
    assert "12 s" in text


def test_prune_keeps_the_latest_complete_run_of_each_profile_and_running_ones(root: Path) -> None:
    old = _run(root)
    latest = _run(root, key="2" * 20)
    full = _run(root, "full", key="3" * 20)
    failed = _run(root, key="4" * 20, status="failed")
    running = runstore.create_run("xor_grokking", "smoke", "5" * 20, root)  # this process: alive
    assert set(runstore.prune(root, dry_run=True)) == {old, failed}
    assert old.is_dir()  # a dry run removes nothing
    assert set(runstore.prune(root)) == {old, failed}
    assert latest.is_dir() and full.is_dir() and running.is_dir() and not old.exists()
    assert runstore.latest_run("xor_grokking", "smoke", root).folder == latest
    with pytest.raises(ValueError, match="keep"):
        runstore.prune(root, keep=0)


def test_the_cli_lists_and_prunes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert runstore.main(["list"]) == 0 and "no runs yet" in capsys.readouterr().out
    _run(root)
    _run(root, key="6" * 20)
    assert runstore.main(["list", "--study", "xor_grokking"]) == 0 and "← latest" in capsys.readouterr().out
    assert runstore.main(["prune"]) == 0
    assert "removed 1 run(s)" in capsys.readouterr().out
