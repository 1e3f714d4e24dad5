"""The reproduce runner: parameter errors, the claims summary, bench.json, and a real papermill run."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

import cuelab
from cuelab import reproduce
from cuelab.claims import ClaimTable, at_least, at_most
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
    cmd = reproduce.papermill_command("shortcut_cues", root)
    assert cmd[cmd.index("-f") + 1] == str(root / "reports" / "shortcut_cues" / "parameters.yaml")
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


def test_claims_summary_has_one_row_per_claim_and_counts_per_study(root: Path) -> None:
    xor = ClaimTable("xor_grokking", "smoke", seed=3)
    r = dict(kind="reproduction", source="Fig. 1")
    xor.check("XOR-1", "early features | late features", paper=0.9, measured=0.95123456, rule=at_least(0.9), **r)
    xor.check("XOR-2", "test error falls late", paper=0.1, measured=0.25, rule=at_most(0.1), detail="worst seed 0.4", **r)
    xor.not_run("XOR-3", "grokking at paper scale", paper="yes", reason="needs the full profile", **r)
    xor.write(root / "reports" / "xor_grokking")
    cues = ClaimTable("shortcut_cues", "full", seed=0)
    cues.check("SC-1", "colour is learnt first", paper=[1, 2], measured=2.0, rule=at_least(1, "rank"),
               kind="sanity", source="by design", control=("shuffled labels", 0.0))
    cues.write(root / "reports" / "shortcut_cues")

    text = reproduce.write_claims_summary(root).read_text()
    assert text == (root / "reports" / "claims.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| study")]
    assert rows == [
        # the pipe inside a statement is escaped so it stays one cell; floats keep 4 significant digits
        "| xor_grokking | XOR-1 | reproduction | early features \\| late features | 0.9 | Fig. 1 | 0.9512 | measured ≥ 0.9 | holds | — |  |  |",
        "| xor_grokking | XOR-2 | reproduction | test error falls late | 0.1 | Fig. 1 | 0.25 | measured ≤ 0.1 | fails | — |  | worst seed 0.4 |",
        "| xor_grokking | XOR-3 | reproduction | grokking at paper scale | yes | Fig. 1 | — | not run: needs the full profile | not run | — |  |  |",
        "| shortcut_cues | SC-1 | sanity | colour is learnt first | 1, 2 | by design | 2 | rank ≥ 1 | holds | shuffled labels: fails |  |  |",
    ]
    assert "| study | id | kind | statement | paper | source | measured | rule | verdict | control | post_hoc | detail |" in text
    assert "reproductions: 1 holds, 1 fails, 1 not run" in text and "- **xor_grokking** (profile smoke, seed 3" in text
    assert "sanity checks (not findings): 1 holds, 0 fail, 0 not run" in text
    assert "- **global_shape**: no claims.json yet" in text


def _result(study: str, status: str, wall: float, root: Path) -> reproduce.StudyResult:
    folder = root / "reports" / study
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
    match = re.search(r"^STUDIES\s*:=\s*(.+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert match and tuple(match.group(1).split()) == cuelab.STUDIES


# --- a real run ----------------------------------------------------------------------------


def test_all_runs_every_notebook_in_its_own_papermill_and_reports_the_failure(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writes_claims = (
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
    _notebook(root / "notebooks" / "xor_grokking.ipynb",
              nbformat.v4.new_markdown_cell("# a tiny study"),
              _parameters('profile = "full"\nseed = 7'),  # the injected profile must override this
              nbformat.v4.new_code_cell(writes_claims))
    _notebook(root / "notebooks" / "shortcut_cues.ipynb",
              _parameters('profile = "smoke"'),
              nbformat.v4.new_code_cell("raise RuntimeError('shortcut exploded')"))
    stale = root / "reports" / "shortcut_cues" / "claims.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")  # from an earlier run: must not pass for this one's

    assert reproduce.main(["--all", "--profile", "smoke", "--quiet"]) == 1
    out, err = capsys.readouterr()

    # the studies without notebooks are skipped, one line each
    assert "input_gradients: skipped: notebooks/input_gradients.ipynb does not exist yet" in out
    assert "global_shape: skipped: notebooks/global_shape.ipynb does not exist yet" in out
    # the failure names the study and where its traceback is
    assert "shortcut_cues: traceback in reports/shortcut_cues/papermill.log" in err
    assert "reports/shortcut_cues/shortcut_cues.failed.ipynb" in err  # kept for its traceback, under a name nothing takes for complete
    assert "shortcut exploded" in (root / "reports" / "shortcut_cues" / "papermill.log").read_text()
    assert not stale.exists()
    assert not (root / "reports" / "shortcut_cues" / "shortcut_cues.ipynb").exists()
    assert not (root / "reports" / "shortcut_cues" / "run.json").exists()

    # the other study still ran, with the profile injected and the kernel in notebooks/
    claims = json.loads((root / "reports" / "xor_grokking" / "claims.json").read_text())
    assert (claims["study"], claims["profile"], claims["seed"]) == ("xor_grokking", "smoke", 7)
    assert claims["claims"][0]["verdict"] == "holds"
    assert (root / "reports" / "xor_grokking" / "xor_grokking.ipynb").is_file()

    bench = json.loads((root / "reports" / "bench.json").read_text())
    assert bench["xor_grokking"]["status"] == "ok" and bench["shortcut_cues"]["status"] == "failed"
    for entry in bench.values():
        assert entry["profile"] == "smoke" and entry["wall_s"] > 0
    # the kernel's memory is counted (os.wait4 covers papermill's reaped children), not only papermill's
    assert bench["xor_grokking"]["peak_rss_mb"] > 320 > bench["shortcut_cues"]["peak_rss_mb"]
    assert "| xor_grokking | XOR-1 | sanity | cwd is notebooks/ | 1 | test | 1 | measured ≥ 1 | holds | — |  |  |" in (
        root / "reports" / "claims.md").read_text()
    env = bench["xor_grokking"]["environment"]
    assert set(env) >= {"commit", "versions", "device", "finished"} and env["versions"]["torch"]

    # nothing changed: the finished study is skipped with a message, the failed one runs again
    assert reproduce.main(["--all", "--profile", "smoke", "--quiet"]) == 1
    out, _ = capsys.readouterr()
    assert "== xor_grokking: up to date, not run" in out and "== shortcut_cues: failed" in out
    assert json.loads((root / "reports" / "bench.json").read_text())["xor_grokking"] == bench["xor_grokking"]
    # a changed parameter, or --force, runs it again
    assert reproduce.main(["--study", "xor_grokking", "--params", "seed=8", "--quiet"]) == 0
    assert json.loads((root / "reports" / "xor_grokking" / "claims.json").read_text())["seed"] == 8
    assert "seed: 8" in (root / "reports" / "xor_grokking" / "parameters.yaml").read_text()
    assert reproduce.main(["--study", "xor_grokking", "--params", "seed=8", "--force", "--quiet"]) == 0
    assert "up to date" not in capsys.readouterr().out


def test_a_result_without_its_run_record_is_not_taken_for_complete(root: Path) -> None:
    _notebook(root / "notebooks" / "xor_grokking.ipynb", _parameters('profile = "smoke"'))
    params = reproduce.effective_parameters("xor_grokking", "smoke", root)
    key = reproduce.run_key(reproduce.run_inputs("xor_grokking", params, root))
    folder = root / "reports" / "xor_grokking"
    folder.mkdir(parents=True)
    (folder / "claims.json").write_text("{}")
    (folder / "xor_grokking.ipynb").write_text("{}")
    assert reproduce.complete_result("xor_grokking", key, root) is None  # interrupted before run.json
    (folder / "run.json").write_text(json.dumps({"key": key}))
    assert reproduce.complete_result("xor_grokking", key, root) == {"key": key}
    (folder / "run.json").write_text('{"key": ')  # cut short
    assert reproduce.complete_result("xor_grokking", key, root) is None
    (folder / "run.json").write_text(json.dumps({"key": key}))
    # anything that determines the result changes the key
    assert reproduce.run_key(reproduce.run_inputs("xor_grokking", {**params, "seed": 1}, root)) != key
