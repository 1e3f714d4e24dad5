"""The reproduce runner: parameter errors (names and values, before any kernel), the claims summary, bench.json,
real papermill runs into the run store, and a failed or interrupted run leaving the earlier complete one intact."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

import cuelab
from cuelab import reproduce, runstore
from cuelab.claims import ClaimTable, at_least, at_most
from cuelab.intervals import Estimate
from cuelab.params import ParameterError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bare repository root: pyproject.toml and lib/cuelab/ are what repo_root looks for."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'fake'\n")
    (tmp_path / "lib" / "cuelab").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv("CUELAB_ROOT", str(tmp_path))
    return tmp_path


def _notebook(path: Path, *cells: nbformat.NotebookNode) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    nbformat.write(nb, path)
    return path


def _parameters(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


# --- wrong input ---------------------------------------------------------------------------


def test_unknown_study_names_the_parameter_and_the_studies(root: Path) -> None:
    with pytest.raises(ParameterError) as err:
        reproduce.run_study("xor_grok", "smoke", root)
    assert err.value.name == "study"
    for study in cuelab.STUDIES:
        assert repr(study) in str(err.value)


def test_unknown_profile_names_the_parameter_and_the_profiles(root: Path) -> None:
    with pytest.raises(ParameterError) as err:
        reproduce.run_study("xor_grokking", "paper", root)
    assert err.value.name == "profile"
    assert "'smoke'" in str(err.value) and "'full'" in str(err.value)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--study", "nope"], ["study='nope'", *cuelab.STUDIES]),
        (["--all", "--profile", "huge"], ["profile='huge'", *cuelab.PROFILES]),
    ],
)
def test_cli_exits_2_with_the_message_and_no_traceback(
    root: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: list[str]
) -> None:
    assert reproduce.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for text in expected:
        assert text in err


def test_single_study_without_notebook_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert reproduce.main(["--study", "global_shape"]) == 2
    assert "notebooks/global_shape.ipynb does not exist yet" in capsys.readouterr().err
    assert not (root / "reports").exists()  # nothing ran, nothing written


def test_full_profile_without_its_parameters_file_names_the_file(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _notebook(root / "notebooks" / "xor_grokking.ipynb", _parameters('profile = "smoke"'))
    assert reproduce.main(["--study", "xor_grokking", "--profile", "full"]) == 2
    assert "notebooks/profiles/full/xor_grokking.yaml does not exist" in capsys.readouterr().err


def test_papermill_command_passes_the_effective_parameters_file(root: Path) -> None:
    folder = root / "reports" / "shortcut_cues" / "runs" / "x"
    cmd = reproduce.papermill_command("shortcut_cues", root, folder)
    assert cmd[cmd.index("-f") + 1] == str(folder / "parameters.yaml")
    assert cmd[cmd.index("--cwd") + 1] == str(root / "notebooks")


def test_effective_parameters_merge_profile_file_then_params_then_profile_name(root: Path) -> None:
    _notebook(root / "notebooks" / "shortcut_cues.ipynb", _parameters('profile = "smoke"\nseed = 0\nepochs = 5\nlr = 1e-3'))
    full = root / "notebooks" / "profiles" / "full"
    full.mkdir(parents=True)
    (full / "shortcut_cues.yaml").write_text("profile: smoke\nepochs: 50\nlr: 0.01\n")
    merged = reproduce.effective_parameters("shortcut_cues", "full", root, {"lr": 0.5})
    assert merged == {"profile": "full", "epochs": 50, "lr": 0.5}
    assert reproduce.effective_parameters("shortcut_cues", "smoke", root) == {"profile": "smoke"}


def test_a_misspelt_parameter_exits_2_naming_it_and_the_closest_names(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _notebook(root / "notebooks" / "xor_grokking.ipynb", _parameters('profile = "smoke"\nnoise_rate = 0.05\nn_seeds = 20'))
    assert reproduce.main(["--study", "xor_grokking", "--params", "noise_rat=0.3"]) == 2
    err = capsys.readouterr().err
    assert "noise_rat (from PARAMS) is not a parameter of xor_grokking.ipynb; did you mean noise_rate?" in err
    assert "Traceback" not in err and not (root / "reports").exists()  # no kernel started, nothing written


def test_a_misspelt_name_in_the_profile_file_is_caught_too(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _notebook(root / "notebooks" / "xor_grokking.ipynb", _parameters('profile = "smoke"\nn_seeds = 20'))
    full = root / "notebooks" / "profiles" / "full"
    full.mkdir(parents=True)
    (full / "xor_grokking.yaml").write_text("n_seed: 100\n")
    assert reproduce.main(["--study", "xor_grokking", "--profile", "full"]) == 2
    assert "n_seed (from notebooks/profiles/full/xor_grokking.yaml) is not a parameter" in capsys.readouterr().err


def test_make_reproduce_passes_params_and_force_to_the_runner() -> None:
    dry = subprocess.run(["make", "-n", "reproduce", "STUDY=xor_grokking", "PARAMS=noise_rate=0.3 n_seeds=10", "FORCE=1"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    line = next(x for x in dry.splitlines() if "cuelab.reproduce" in x)
    assert "--study xor_grokking" in line and "--params 'noise_rate=0.3 n_seeds=10'" in line and "--force" in line


# --- summaries -----------------------------------------------------------------------------


def _complete_run(root: Path, table: ClaimTable) -> Path:
    """A complete run of table's study and profile in the store, promoted (as the runner leaves one)."""
    folder = runstore.create_run(table.study, table.profile, "k" * 20, root)
    table.write(folder)
    (folder / f"{table.study}.ipynb").write_text("{}")
    runstore.write_record(folder, runstore.read_record(folder) | {"status": "complete", "wall_s": 1.0})
    runstore.promote(folder, root)
    return folder


def test_claims_summary_has_one_row_per_claim_and_counts_per_study(root: Path) -> None:
    xor = ClaimTable("xor_grokking", "smoke", seed=3)
    r = dict(kind="reproduction", source="Fig. 1")
    xor.check("XOR-1", "early features | late features", paper=0.9, measured=0.95123456, rule=at_least(0.9), **r)
    xor.check("XOR-2", "test error falls late", paper=0.1, measured=0.25, rule=at_most(0.1), detail="worst seed 0.4", **r)
    xor.check("XOR-4", "error near 0.1", paper=0.1, measured=Estimate(0.105, 0.09, 0.12, 20, "20 runs"),
              rule=at_most(0.1), **r)
    xor.not_run("XOR-3", "grokking at paper scale", paper="yes", reason="needs the full profile", **r)
    _complete_run(root, xor)
    cues = ClaimTable("shortcut_cues", "full", seed=0)
    cues.check("SC-1", "colour is learnt first", paper=[1, 2], measured=2.0, rule=at_least(1, "rank"),
               kind="sanity", source="by design", control=("shuffled labels", 0.0))
    _complete_run(root, cues)

    text = reproduce.write_claims_summary(root).read_text()
    assert text == (root / "reports" / "claims.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| study")]
    assert rows[:2] == [
        # the pipe inside a statement is escaped so it stays one cell; floats keep 4 significant digits
        "| xor_grokking | smoke | XOR-1 | reproduction | early features \\| late features | 0.9 | Fig. 1 | 0.9512 | measured ≥ 0.9 | holds | — |  |  |",
        "| xor_grokking | smoke | XOR-2 | reproduction | test error falls late | 0.1 | Fig. 1 | 0.25 | measured ≤ 0.1 | fails | — |  | worst seed 0.4 |",
    ]
    # the interval and what was resampled stand beside the measured value
    assert rows[2].startswith("| xor_grokking | smoke | XOR-4 | reproduction | error near 0.1 | 0.1 | Fig. 1 | "
                              "0.105 [0.09, 0.12] (20 runs) | measured ≤ 0.1 | inconclusive |")
    assert rows[3] == "| xor_grokking | smoke | XOR-3 | reproduction | grokking at paper scale | yes | Fig. 1 | — | not run: needs the full profile | not run | — |  |  |"
    assert rows[4] == "| shortcut_cues | full | SC-1 | sanity | colour is learnt first | 1, 2 | by design | 2 | rank ≥ 1 | holds | shuffled labels: fails |  |  |"
    assert "| study | profile | id | kind | statement | paper | source | measured | rule | verdict | control | post_hoc | detail |" in text
    # inconclusive counted apart
    assert "reproductions: 1 holds, 1 fails, 1 inconclusive, 1 not run" in text
    assert "- **xor_grokking** (profile smoke, seed 3, run " in text
    assert "sanity checks (not findings): 1 holds, 0 fail, 0 inconclusive, 0 not run" in text
    assert "- **global_shape**: no complete run yet" in text


def _result(study: str, status: str, wall: float, root: Path) -> reproduce.StudyResult:
    folder = root / "reports" / study / "runs" / "x"
    return reproduce.StudyResult(study, "smoke", status, wall, 100.0, "2026-01-01T00:00:00+00:00",
                                 folder / f"{study}.ipynb", folder / "papermill.log", 0 if status == "ok" else 1)


def test_bench_merge_keeps_the_entries_of_other_studies(root: Path) -> None:
    reproduce.write_bench([_result("global_shape", "ok", 12.5, root), _result("xor_grokking", "ok", 3.0, root)], root)
    path = reproduce.write_bench([_result("xor_grokking", "failed", 4.0, root)], root)
    bench = json.loads(path.read_text())
    assert list(bench) == ["xor_grokking", "global_shape"]  # cuelab's study order
    assert bench["global_shape"].pop("environment")["device"]  # what it ran on (runinfo.environment)
    assert bench["global_shape"] == {"profile": "smoke", "wall_s": 12.5, "peak_rss_mb": 100.0, "status": "ok",
                                     "finished": "2026-01-01T00:00:00+00:00"}
    assert bench["xor_grokking"]["status"] == "failed" and bench["xor_grokking"]["wall_s"] == 4.0


def test_makefile_lists_the_same_studies_as_cuelab() -> None:
    # the Makefile reads the registry (lib/cuelab/studies.py); tests/test_scaffold.py checks every other consumer
    out = subprocess.run(["make", "-s", "--no-print-directory", "studies"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0 and tuple(out.stdout.split()) == cuelab.STUDIES, out.stderr


# --- a real run ----------------------------------------------------------------------------


WRITES_CLAIMS = (
    "import os\n"
    "import numpy as np\n"
    "ballast = np.ones(40_000_000)  # 320 MB in the kernel, for the peak-memory check\n"
    "from cuelab.claims import ClaimTable, at_least\n"
    "from cuelab.paths import reports_dir\n"
    "table = ClaimTable('xor_grokking', profile, seed)\n"
    "table.check('XOR-1', 'cwd is notebooks/', paper=1, measured=int(os.path.basename(os.getcwd()) == 'notebooks'),"
    " rule=at_least(1), kind='sanity', source='test')\n"
    "table.write(reports_dir('xor_grokking'))\n"
)


def test_all_runs_every_notebook_in_its_own_papermill_and_reports_the_failure(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reproduce, "library_digest", lambda: "fixed")  # others may edit lib/ while this runs
    _notebook(root / "notebooks" / "xor_grokking.ipynb",
              nbformat.v4.new_markdown_cell("# a tiny study"),
              _parameters('profile = "full"\nseed = 7'),  # the injected profile must override this
              nbformat.v4.new_code_cell(WRITES_CLAIMS))
    _notebook(root / "notebooks" / "shortcut_cues.ipynb",
              _parameters('profile = "smoke"'),
              nbformat.v4.new_code_cell("from cuelab.paths import reports_dir\n"
                                        "(reports_dir('shortcut_cues') / 'claims.json').write_text('{}')\n"
                                        "raise RuntimeError('shortcut exploded')"))

    assert reproduce.main(["--all", "--profile", "smoke", "--quiet"]) == 1
    out, err = capsys.readouterr()

    # the studies without notebooks are skipped, one line each
    assert "input_gradients: skipped: notebooks/input_gradients.ipynb does not exist yet" in out
    assert "global_shape: skipped: notebooks/global_shape.ipynb does not exist yet" in out
    # the failure gives the exception's last line first, then where the traceback is
    assert "== shortcut_cues: failed in " in out and "RuntimeError: shortcut exploded" in out
    assert "  shortcut_cues: RuntimeError: shortcut exploded" in err
    [failed] = runstore.list_runs(root, "shortcut_cues")
    assert failed.status == "failed" and failed.record["error"] == "RuntimeError: shortcut exploded"
    assert f"traceback in {failed.folder.relative_to(root)}/papermill.log" in err
    assert (failed.folder / "shortcut_cues.failed.ipynb").is_file()  # kept for its traceback
    assert "shortcut exploded" in (failed.folder / "papermill.log").read_text()
    assert not (failed.folder / "claims.json").exists() and (failed.folder / "claims.failed.json").exists()
    assert not (failed.folder / "shortcut_cues.ipynb").exists()
    assert runstore.latest_run("shortcut_cues", "smoke", root) is None

    # the other study still ran, into its own run folder, with the profile injected and the kernel in notebooks/
    run = runstore.latest_run("xor_grokking", "smoke", root)
    assert run is not None and run.folder.parent == root / "reports" / "xor_grokking" / "runs"
    assert run.id.endswith("-smoke-" + run.key[:8]) and run.record["status"] == "complete"
    claims = json.loads(run.claims_path.read_text())
    assert (claims["study"], claims["profile"], claims["seed"]) == ("xor_grokking", "smoke", 7)
    assert claims["claims"][0]["verdict"] == "holds"
    assert run.notebook.is_file() and (run.folder / "parameters.yaml").is_file()
    assert "sanity checks (not findings): 1 holds" in out  # the summary line of the run's verdicts
    assert (root / "reports" / "xor_grokking" / "smoke").resolve() == run.folder.resolve()  # the link for people

    bench = json.loads((root / "reports" / "bench.json").read_text())
    assert bench["xor_grokking"]["status"] == "ok" and bench["shortcut_cues"]["status"] == "failed"
    for entry in bench.values():
        assert entry["profile"] == "smoke" and entry["wall_s"] > 0
    # the kernel's memory is counted (os.wait4 covers papermill's reaped children), not only papermill's
    assert bench["xor_grokking"]["peak_rss_mb"] > 320 > bench["shortcut_cues"]["peak_rss_mb"]
    assert "| xor_grokking | smoke | XOR-1 | sanity | cwd is notebooks/ | 1 | test | 1 | measured ≥ 1 | holds | — |  |  |" in (
        root / "reports" / "claims.md").read_text()
    env = bench["xor_grokking"]["environment"]
    assert set(env) >= {"commit", "versions", "device", "finished"} and env["versions"]["torch"]

    # nothing changed: the finished study is skipped with a message, the failed one runs again
    assert reproduce.main(["--all", "--profile", "smoke", "--quiet"]) == 1
    out, _ = capsys.readouterr()
    assert "== xor_grokking: up to date, not run" in out and "== shortcut_cues: failed" in out
    assert json.loads((root / "reports" / "bench.json").read_text())["xor_grokking"] == bench["xor_grokking"]
    assert len(runstore.list_runs(root, "xor_grokking")) == 1 and len(runstore.list_runs(root, "shortcut_cues")) == 2
    # a changed parameter runs it again, in a new folder; the first run stays
    assert reproduce.main(["--study", "xor_grokking", "--params", "seed=8", "--quiet"]) == 0
    second = runstore.latest_run("xor_grokking", "smoke", root)
    assert second.id != run.id and json.loads(second.claims_path.read_text())["seed"] == 8
    assert "seed: 8" in (second.folder / "parameters.yaml").read_text()
    assert run.claims_path.is_file()
    # back to the first parameters: that complete run is found by its key and made the latest again
    assert reproduce.main(["--study", "xor_grokking", "--quiet"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert runstore.latest_run("xor_grokking", "smoke", root).id == run.id
    # --force runs it again
    assert reproduce.main(["--study", "xor_grokking", "--params", "seed=8", "--force", "--quiet"]) == 0
    assert "up to date" not in capsys.readouterr().out
    assert len(runstore.list_runs(root, "xor_grokking")) == 3


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failing_typod_or_interrupted_run_leaves_the_earlier_complete_run_intact(root: Path) -> None:
    _notebook(root / "notebooks" / "xor_grokking.ipynb",
              _parameters('profile = "smoke"\nseed = 0\nmode = "ok"\nnap = 0'),
              nbformat.v4.new_code_cell("import time\ntime.sleep(nap)\n"
                                        "if mode == 'fail':\n    raise ValueError('mode fail asked for')\n"),
              nbformat.v4.new_code_cell(WRITES_CLAIMS.replace("ballast = np.ones(40_000_000)", "ballast = None")))
    run = lambda *args: subprocess.run([sys.executable, "-m", "cuelab.reproduce", "--study", "xor_grokking", "--quiet", *args],  # noqa: E731
                                       capture_output=True, text=True, env={**os.environ, "CUELAB_ROOT": str(root)})
    assert run().returncode == 0
    good = runstore.latest_run("xor_grokking", "smoke", root)
    before = _snapshot(good.folder)
    pointer = runstore.pointer_path("xor_grokking", "smoke", root).read_bytes()

    # a failing run (the notebook raises), with its error line in the summary
    failed = run("--params", "mode=fail")
    assert failed.returncode == 1 and "ValueError: mode fail asked for" in failed.stderr
    # a typo'd name: refused before any run folder exists
    typo = run("--params", "mdoe=fail")
    assert typo.returncode == 2 and "did you mean mode?" in typo.stderr
    # interrupted: Ctrl-C (SIGINT to the runner's process group), and a hard kill
    for sig in (signal.SIGINT, signal.SIGKILL):
        proc = subprocess.Popen([sys.executable, "-m", "cuelab.reproduce", "--study", "xor_grokking", "--quiet",
                                 "--params", f"nap=60 seed={int(sig) + 10}"],
                                env={**os.environ, "CUELAB_ROOT": str(root)}, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
                (r.folder / ".xor_grokking.partial.ipynb").exists() or (r.folder / "papermill.log").stat().st_size > 0
                for r in runstore.list_runs(root, "xor_grokking") if r.status == "running"
                and (r.folder / "papermill.log").exists()):
            time.sleep(0.2)
        time.sleep(2)  # papermill is in the sleeping cell by now
        os.killpg(proc.pid, sig)
        proc.wait(timeout=60)
    statuses = [r.status for r in runstore.list_runs(root, "xor_grokking", "smoke")]
    assert statuses.count("complete") == 1 and statuses.count("failed") == 1 and statuses.count("interrupted") == 2

    # the earlier complete run is exactly as it was, and still the latest of its profile
    assert _snapshot(good.folder) == before
    assert runstore.pointer_path("xor_grokking", "smoke", root).read_bytes() == pointer
    assert runstore.latest_run("xor_grokking", "smoke", root).id == good.id
    table = runstore.table(root)
    assert "failed" in table and "interrupted" in table and "← latest" in table and "mode fail asked for" in table
    # pruning keeps the latest complete run of each profile
    removed = runstore.prune(root)
    assert len(removed) == 3 and good.folder.is_dir() and runstore.latest_run("xor_grokking", "smoke", root).id == good.id


def test_a_bad_value_is_refused_by_the_studys_check_before_any_kernel_within_2_s() -> None:
    # the real notebook and cuelab.experiments.xor_grokking.check_study_parameters; nothing is written
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cuelab.reproduce", "--study", "xor_grokking", "--params", "n_seeds=abc"],
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, "CUELAB_ROOT": str(REPO)})
    elapsed = time.perf_counter() - start
    assert done.returncode == 2, done.stderr
    assert "ParameterError: n_seeds='abc' is not accepted: n_seeds must be a positive integer" in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 4.0, f"{elapsed:.1f} s"  # about 0.5 s on 2 idle cores; the budget leaves room for a busy machine


def test_the_check_sees_defaults_overridden_by_the_profile_and_params(root: Path) -> None:
    # cuelab.experiments.xor_grokking.check_study_parameters on a notebook with its parameters
    _notebook(root / "notebooks" / "xor_grokking.ipynb", _parameters(
        'profile = "smoke"\nsteps = 30\nscaling_steps = 10\ndelayed_steps = 3000\ndelayed_chance_step = 50\n'
        'n_seeds = 20\ndelayed_seeds = 5\nphase_seeds = 3'))
    assert reproduce.plan("xor_grokking", False, "smoke", root, params={}) == ["xor_grokking"]
    with pytest.raises(ParameterError, match="steps=5 is not accepted.*scaling_steps"):  # a combination
        reproduce.plan("xor_grokking", False, "smoke", root, params={"steps": 5})
    full = root / "notebooks" / "profiles" / "full"
    full.mkdir(parents=True)
    (full / "xor_grokking.yaml").write_text("delayed_chance_step: 5000\n")
    with pytest.raises(ParameterError, match="delayed_chance_step"):
        reproduce.plan("xor_grokking", False, "full", root, params={})
    assert not (root / "reports").exists()


def test_failure_line_reads_the_notebook_error_else_the_log(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("error", ename="ParameterError", evalue="n_seeds='abc' is not accepted",
                                           traceback=[])]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "xor_grokking.failed.ipynb")
    assert reproduce.failure_line(tmp_path, "xor_grokking") == "ParameterError: n_seeds='abc' is not accepted"
    (tmp_path / "xor_grokking.failed.ipynb").unlink()
    (tmp_path / "papermill.log").write_text(
        "Executing:  50%|█████     | 1/2\nTraceback (most recent call last):\n  File \"x\", line 1\n"
        "papermill.exceptions.PapermillExecutionError: \n\x1b[0;31mMemoryError\x1b[0m: out of memory\n\n")
    assert reproduce.failure_line(tmp_path, "xor_grokking") == "MemoryError: out of memory"


def test_a_result_without_its_run_record_is_not_taken_for_complete(root: Path) -> None:
    folder = runstore.create_run("xor_grokking", "smoke", "a" * 20, root)
    (folder / "claims.json").write_text("{}")
    (folder / "xor_grokking.ipynb").write_text("{}")
    assert runstore.status(folder) == "running"  # this process is alive: it is still running
    runstore.write_record(folder, runstore.read_record(folder) | {"pid": 2 ** 22 + 12345})
    assert runstore.status(folder) == "interrupted"  # its runner is gone
    assert reproduce.complete_result("xor_grokking", "smoke", "a" * 20, root) is None
    runstore.write_record(folder, runstore.read_record(folder) | {"status": "complete"})
    assert reproduce.complete_result("xor_grokking", "smoke", "a" * 20, root).folder == folder
    assert reproduce.complete_result("xor_grokking", "full", "a" * 20, root) is None  # another profile
    (folder / "run.json").write_text('{"key": ')  # cut short
    assert reproduce.complete_result("xor_grokking", "smoke", "a" * 20, root) is None
    runstore.write_record(folder, {"study": "xor_grokking", "profile": "smoke", "key": "a" * 20, "status": "complete"})
    (folder / "claims.json").unlink()
    assert reproduce.complete_result("xor_grokking", "smoke", "a" * 20, root) is None  # its claims are gone


def test_the_run_key_changes_with_what_determines_the_result(root: Path) -> None:
    _notebook(root / "notebooks" / "xor_grokking.ipynb", _parameters('profile = "smoke"'))
    params = reproduce.effective_parameters("xor_grokking", "smoke", root)
    key = reproduce.run_key(reproduce.run_inputs("xor_grokking", params, root))
    assert reproduce.run_key(reproduce.run_inputs("xor_grokking", params, root)) == key
    assert reproduce.run_key(reproduce.run_inputs("xor_grokking", {**params, "seed": 1}, root)) != key


def test_a_check_that_breaks_warns_and_does_not_block_the_run(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    _notebook(root / "notebooks" / "xor_grokking.ipynb", _parameters('profile = "smoke"\nsteps = 30'))

    def broken(study, values):
        raise TypeError("'<' not supported between instances of 'str' and 'int'")

    monkeypatch.setattr(reproduce, "check_values", broken)
    assert reproduce.check_parameters("xor_grokking", root, {"steps": "x"}).startswith("skipped")
    assert "warning: xor_grokking's check_study_parameters raised TypeError" in capsys.readouterr().err
