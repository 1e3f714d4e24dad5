"""Run the study notebooks with papermill and sum up what they measured.

    python -m cuelab.reproduce --study xor_grokking --profile smoke
    python -m cuelab.reproduce --study xor_grokking --params "noise_rate=0.3 n_seeds=10"
    python -m cuelab.reproduce --all --profile full --bench [--force]

Each study runs in its own papermill subprocess (its own kernel), so one study's
memory, seeds or crash cannot leak into the next. Before any kernel starts, every
parameter name a run passes (from the profile file and from --params) is checked
against the notebook's parameters cell (cuelab.notebook_params), and the values
(the notebook's defaults, overridden by the profile file and --params) go through
the study's own `cuelab.experiments.<study>.check_study_parameters`, so a bad
value fails in well under a second, not after a kernel has started.

Each run writes into its own folder of the run store (cuelab.runstore),
reports/<study>/runs/<UTC>-<profile>-<key8>/: parameters.yaml (what was passed),
<study>.ipynb (the executed notebook), papermill.log, the notebook's claims.json and
figures, and run.json (its status, from "running" to "complete", "failed" or
"interrupted"). Only a complete run is promoted to the latest result of its
profile (reports/<study>/latest-<profile>.json, replaced atomically), so a failed,
interrupted or typo'd run never touches an earlier complete one, and smoke and full
never share a folder. A failed study's summary line gives the exception's last line.
Afterwards reports/bench.json gets each study's wall time, peak memory and
environment, and reports/claims.md sets the latest complete run of every study and
profile side by side.

Runs are incremental: run.json holds a key hashed from what determines the
result (the notebook's code cells, the effective parameters, cuelab's source, the
torch and torchvision versions and the device kind). A study with a complete run
of the same key is skipped (and that run made the latest again), and says so;
--force (FORCE=1) re-runs it.

Exit status: 0 when every study ran, 1 when any failed (the others still run),
2 for a wrong parameter or a missing notebook or profile file.
"""

from __future__ import annotations

import argparse
import codecs
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import cuelab
import yaml

from cuelab import runinfo, runstore
from cuelab.io import atomic_write_text
from cuelab.notebook_params import check_names, check_values, notebook_defaults, parse_params
from cuelab.params import ParameterError, check_profile, check_study
from cuelab.paths import repo_root

# cuelab.claims (pandas, scipy) is imported where it is used, so a wrong parameter is reported in well under a second.

KERNEL = "python3"  # the kernelspec ipykernel installs into every venv; jupyter_client runs it with this interpreter


class SetupError(Exception):
    """Something the run needs before it starts is missing (a notebook, a profile file)."""


@dataclass(frozen=True)
class StudyResult:
    """What running one study's notebook gave: its status, time, memory and where to look."""

    study: str
    profile: str
    status: str  # "ok" | "failed" | "up to date" (skipped: an earlier complete result has the same key)
    wall_s: float
    peak_rss_mb: float | None  # papermill and its kernel; None where the platform has no os.wait4
    finished: str  # ISO 8601, local time with offset
    notebook: Path  # the executed notebook
    log: Path  # papermill's stdout and stderr
    returncode: int
    run_dir: Path | None = None  # the run's folder in the run store
    error: str = ""  # a failed run: the exception's last line ("ParameterError: n_seeds='abc' is not accepted: …")
    counts: dict | None = None  # verdict counts per kind of the run's claims (cuelab.claims.summary_line)

    @property
    def ok(self) -> bool:
        """True when papermill ran the whole notebook without an error (or an identical run already had)."""
        return self.status in ("ok", "up to date")


def notebook_path(study: str, root: Path) -> Path:
    """notebooks/<study>.ipynb under root."""
    return root / "notebooks" / f"{check_study(study)}.ipynb"


def profile_file(study: str, profile: str, root: Path) -> Path | None:
    """The papermill parameters file for a profile, or None for smoke (the notebook's own defaults)."""
    if check_profile(profile) == "smoke":
        return None
    return root / "notebooks" / "profiles" / profile / f"{check_study(study)}.yaml"


def executed_path(study: str, folder: Path) -> Path:
    """<folder>/<study>.ipynb: where papermill's executed notebook of a run ends up (once it succeeded)."""
    return Path(folder) / f"{check_study(study)}.ipynb"


def _rel(path: Path, root: Path) -> str:
    """path relative to root where it lies under it, so messages stay short."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def check_inputs(study: str, profile: str, root: Path) -> None:
    """Raise SetupError naming the file when a study's notebook or profile file is missing."""
    notebook = notebook_path(study, root)
    if not notebook.is_file():
        raise SetupError(f"{_rel(notebook, root)} does not exist yet: study {study!r} has no notebook to run.")
    params = profile_file(study, profile, root)
    if params is not None and not params.is_file():
        raise SetupError(
            f"{_rel(params, root)} does not exist: profile {profile!r} of study {study!r} needs it "
            f"(the papermill parameters that override the notebook's smoke defaults)."
        )


def effective_parameters(study: str, profile: str, root: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """What papermill injects: the profile file's values, then the overrides, then the profile name.

    Every name is checked against the notebook's parameters cell first, so a typo exits before any
    kernel starts (UnknownParameterError names it and the closest real names).
    """
    notebook = notebook_path(study, root)
    merged: dict[str, Any] = {}
    params_file = profile_file(study, profile, root)
    if params_file is not None:
        values = yaml.safe_load(params_file.read_text(encoding="utf-8")) or {}
        if not isinstance(values, dict):
            raise SetupError(f"{_rel(params_file, root)} must be a YAML mapping of parameter names to values")
        check_names(values, notebook, _rel(params_file, root))
        merged.update(values)
    overrides = dict(overrides or {})
    if "profile" in overrides:
        raise ParameterError("PARAMS", f"profile={overrides['profile']}",
                             "free of profile= (choose the profile with PROFILE=… or --profile)")
    check_names(overrides, notebook, "PARAMS")
    merged.update(overrides)
    merged["profile"] = profile  # last, so the profile name always wins over the file
    return merged


def parameters_path(folder: Path) -> Path:
    """<run folder>/parameters.yaml: the effective parameters of a run, passed to papermill with -f."""
    return Path(folder) / "parameters.yaml"


def papermill_command(study: str, root: Path, folder: Path, out: Path | None = None) -> list[str]:
    """The papermill command line that executes one study's notebook with <run folder>/parameters.yaml."""
    out = out or executed_path(study, folder)
    return [
        sys.executable, "-m", "papermill",
        str(notebook_path(study, root)), str(out),
        # -l as well as -k: papermill will not start on a notebook whose metadata lacks a language.
        "-k", KERNEL, "-l", "python",
        # The kernel starts in notebooks/, as it does under Jupyter Lab and nbval, so relative
        # paths in a notebook mean the same thing however it is run.
        "--cwd", str(root / "notebooks"),
        "--progress-bar",
        "-f", str(parameters_path(folder)),
    ]


def check_parameters(study: str, root: Path, parameters: dict[str, Any]) -> str:
    """The study's own check of its parameter values, before any kernel starts: the notebook's defaults overridden
    by `parameters` (profile file and PARAMS) go to cuelab.experiments.<study>.check_study_parameters (only the
    names in its signature). Raises its ParameterError; returns "checked" or "skipped: <why>"."""
    values = notebook_defaults(notebook_path(study, root)) | dict(parameters)
    try:
        return check_values(study, values)
    except ParameterError:
        raise
    except Exception as err:  # noqa: BLE001 - a check that breaks must not block a run: the notebook checks again
        print(f"cuelab.reproduce: warning: {study}'s check_study_parameters raised {type(err).__name__}: {err}; "
              "the notebook's own setup cell will check the parameters again", file=sys.stderr)
        return f"skipped: the check raised {type(err).__name__}"


# --- incremental runs ---------------------------------------------------------------------


def _code_cells(notebook: Path) -> list[str]:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb.get("cells", []) if c.get("cell_type") == "code"]


def library_digest() -> str:
    """sha256 over the source of the cuelab package that is imported (every .py, by relative path)."""
    pkg = Path(cuelab.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(pkg.rglob("*.py")):
        h.update(str(path.relative_to(pkg)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def device_kind() -> str:
    """"cuda: <GPU name>" when torch sees a GPU, else "cpu" (the CPU model does not change a seed's result)."""
    name = runinfo.device_name()
    return name if name.startswith("cuda") else "cpu"


def run_inputs(study: str, parameters: dict[str, Any], root: Path) -> dict[str, Any]:
    """What determines a study's result; run_key hashes it."""
    return {
        "study": study,
        "notebook_code": hashlib.sha256(json.dumps(_code_cells(notebook_path(study, root))).encode()).hexdigest(),
        "parameters": parameters,
        "library": library_digest(),
        "torch": runinfo.package_version("torch"),
        "torchvision": runinfo.package_version("torchvision"),
        "device": device_kind(),
    }


def run_key(inputs: dict[str, Any]) -> str:
    """A short sha256 of run_inputs, stable across dict orders."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:20]


def complete_result(study: str, profile: str, key: str, root: Path) -> runstore.Run | None:
    """A complete run of this study and profile with this key (the latest first), or None."""
    return runstore.find_complete(study, profile, key, root)


# The launcher papermill runs under. A child's ru_maxrss starts at its parent's resident size when
# it is spawned (Linux keeps the old memory's high-water mark across exec, and Python spawns with
# vfork), so papermill started straight from a big process (pytest with torch imported, a Jupyter
# session) would report that process's size. This launcher is a bare python (-S, a few MiB): it
# spawns papermill, waits with os.wait4, whose ru_maxrss covers papermill and every descendant it
# waited for (the kernel: papermill reaps it at shutdown), and writes that peak to a file.
_LAUNCHER = """\
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def _peak_mib(raw: str) -> float | None:
    """The launcher's ru_maxrss as MiB (KiB on Linux, bytes on macOS), or None if it wrote none."""
    if not raw.strip():
        return None
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(int(raw) / scale, 1)


def failed_path(study: str, folder: Path) -> Path:
    """<run folder>/<study>.failed.ipynb: the executed notebook of a run that did not finish, traceback included."""
    return Path(folder) / f"{check_study(study)}.failed.ipynb"


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure)|[A-Za-z_][\w.]*Error\w*)(?::\s?(.*))?$")


def failure_line(folder: Path, study: str) -> str:
    """The exception's last line of a failed run: from the executed notebook's error output, else from the log
    ("ParameterError: n_seeds='abc' is not accepted: n_seeds must be a positive integer (1, 2, 3, …)."); "" if none."""
    for nb_path in (failed_path(study, folder), executed_path(study, folder)):
        try:
            nb = json.loads(nb_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        for cell in nb.get("cells", []):
            for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
                if out.get("output_type") == "error":
                    value = _ANSI.sub("", str(out.get("evalue", ""))).strip().splitlines()
                    return f"{out.get('ename', 'Error')}: {value[-1] if value else ''}".rstrip(": ")
    try:
        lines = _ANSI.sub("", (folder / "papermill.log").read_text(encoding="utf-8", errors="replace")).splitlines()
    except OSError:
        return ""
    lines = [line.strip() for line in lines if line.strip()]
    for line in reversed(lines):
        match = _EXC_LINE.match(line)
        if match and not match.group(1).startswith("papermill.exceptions"):
            return line
    return lines[-1][:300] if lines else ""


def _counts(claims: Path) -> dict | None:
    from cuelab.claims import KINDS, UNKNOWN, VERDICTS, load_claims

    try:
        data = load_claims(claims)["claims"]
    except (OSError, ValueError, KeyError):
        return None
    kinds = [k for k in (*KINDS, UNKNOWN) if any(c["kind"] == k for c in data)]
    return {k: {v: sum(c["kind"] == k and c["verdict"] == v for c in data) for v in VERDICTS} for k in kinds}


def run_study(study: str, profile: str, root: str | Path | None = None, *, echo: TextIO | None = None,
              params: dict[str, Any] | None = None, force: bool = False) -> StudyResult:
    """Execute one study's notebook with papermill in a subprocess, in a new run folder, and measure it.

    params override the notebook's defaults and the profile file (names and values checked first). Unless force,
    a study with a complete run of the same key is not run again (status "up to date"; that run becomes the latest
    of its profile again). papermill's own output goes to <run folder>/papermill.log (and to echo, when given).
    A complete run is promoted to the latest of its profile; any other leaves the earlier ones as they were.
    """
    root = Path(root or repo_root()).resolve()
    study, profile = check_study(study), check_profile(profile)
    check_inputs(study, profile, root)
    parameters = effective_parameters(study, profile, root, params)
    check_parameters(study, root, parameters)
    inputs = run_inputs(study, parameters, root)
    key = run_key(inputs)
    earlier = None if force else complete_result(study, profile, key, root)
    if earlier is not None:
        runstore.promote(earlier.folder, root)
        record = earlier.record
        return StudyResult(study=study, profile=profile, status="up to date", wall_s=float(record.get("wall_s") or 0.0),
                           peak_rss_mb=record.get("peak_rss_mb"), finished=str(record.get("finished", "")),
                           notebook=earlier.notebook, log=earlier.folder / "papermill.log", returncode=0,
                           run_dir=earlier.folder, counts=_counts(earlier.claims_path))

    folder = runstore.create_run(study, profile, key, root, {"commit": runinfo.git_commit(root), "inputs": inputs})
    out, log = executed_path(study, folder), folder / "papermill.log"
    partial = folder / f".{study}.partial.ipynb"
    atomic_write_text(parameters_path(folder),
                      "# written by cuelab.reproduce: the parameters papermill injected in this run\n"
                      + yaml.safe_dump(parameters, sort_keys=False, allow_unicode=True))
    # The notebook finds the repository through CUELAB_ROOT, and its own run folder through CUELAB_RUN_DIR
    # (cuelab.paths.reports_dir), so its claims.json and figures land beside the executed notebook.
    env = {**os.environ, "CUELAB_ROOT": str(root), "CUELAB_RUN_DIR": str(folder), "PYTHONUNBUFFERED": "1",
           "CUELAB_HEADLESS": "1"}

    cmd = papermill_command(study, root, folder, partial)
    peak_file = folder / ".peak_rss"
    if hasattr(os, "wait4") and hasattr(os, "posix_spawn"):
        cmd = [sys.executable, "-S", "-c", _LAUNCHER, str(peak_file), *cmd]

    start = time.perf_counter()
    returncode = -1
    state = "interrupted"
    try:
        with log.open("wb") as sink:
            proc = subprocess.Popen(cmd, cwd=root, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            assert proc.stdout is not None
            # Read raw chunks, not lines: the progress bar redraws with carriage returns. The incremental
            # decoder keeps a character split across two chunks whole.
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            for chunk in iter(lambda: proc.stdout.read1(65536), b""):
                sink.write(chunk)
                if echo is not None:
                    echo.write(decoder.decode(chunk))
                    echo.flush()
            proc.stdout.close()
            returncode = proc.wait()
        if returncode == 0 and partial.is_file():
            os.replace(partial, out)
        state = "complete" if returncode == 0 and out.is_file() and (folder / "claims.json").is_file() else "failed"
    finally:
        wall = time.perf_counter() - start
        if state != "complete":  # failed or interrupted: keep what ran under names nothing takes for complete
            if partial.is_file():
                os.replace(partial, failed_path(study, folder))
            if out.is_file():
                os.replace(out, failed_path(study, folder))
            if (folder / "claims.json").is_file():
                os.replace(folder / "claims.json", folder / "claims.failed.json")
        peak = _peak_mib(peak_file.read_text()) if peak_file.is_file() else None  # None on Windows
        peak_file.unlink(missing_ok=True)
        error = ""
        if state == "failed":
            error = failure_line(folder, study) or (
                "the notebook ran but wrote no claims.json" if returncode == 0 else f"papermill exited with {returncode}")
        elif state == "interrupted":
            error = "interrupted"
        record = (runstore.read_record(folder) or {}) | {
            "status": state, "finished": runstore.utc_now(), "wall_s": round(wall, 2), "peak_rss_mb": peak,
            "returncode": returncode, "error": error}
        runstore.write_record(folder, record)

    result = StudyResult(
        study=study,
        profile=profile,
        status="ok" if state == "complete" else "failed",
        wall_s=round(wall, 2),
        peak_rss_mb=peak,
        finished=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        notebook=out if state == "complete" else failed_path(study, folder),
        log=log,
        returncode=returncode,
        run_dir=folder,
        error=error,
        counts=_counts(folder / ("claims.json" if state == "complete" else "claims.failed.json")),
    )
    if result.ok:
        runstore.promote(folder, root)
    return result


def write_bench(results: Iterable[StudyResult], root: str | Path | None = None) -> Path:
    """Merge these results into reports/bench.json, keeping the entries of studies not run now."""
    root = Path(root or repo_root())
    path = root / "reports" / "bench.json"
    bench: dict[str, Any] = {}
    if path.is_file():
        try:
            bench = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            bench = {}  # a half-written file from an interrupted run: start again rather than fail the run
    environment = runinfo.environment(root=root)
    environment.pop("wall_s", None)  # each study has its own wall_s
    for r in results:
        if r.status == "up to date":
            continue  # nothing ran: the earlier entry stands
        bench[r.study] = {
            "profile": r.profile,
            "wall_s": r.wall_s,
            "peak_rss_mb": r.peak_rss_mb,
            "status": r.status,
            "finished": r.finished,
            "environment": environment,
        }
    # Studies in cuelab's order, so the file diffs cleanly between runs.
    order = {s: i for i, s in enumerate(cuelab.STUDIES)}
    bench = dict(sorted(bench.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    atomic_write_text(path, json.dumps(bench, indent=2) + "\n")
    return path


def _cell(value: Any) -> str:
    """A value as a markdown table cell: claims.format_value (numbers to 4 significant digits), no pipes or newlines."""
    from cuelab.claims import format_value

    return format_value(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _control_cell(control: dict | None) -> str | None:
    if not control:
        return None
    return f"{control.get('name')}: {control.get('verdict')}"


def write_claims_summary(root: str | Path | None = None) -> Path:
    """Write reports/claims.md: the latest complete run of every study and profile in one table (the measured
    value with its 95% interval and what was resampled), with verdict counts per study and profile
    (inconclusive apart)."""
    from cuelab.claims import VERDICTS, format_measured, load_claims, summary_line

    root = Path(root or repo_root())
    columns = ("study", "profile", "id", "kind", "statement", "paper", "source", "measured", "rule", "verdict", "control",
               "post_hoc", "detail")
    rows: list[str] = []
    counts: list[str] = []
    for study in cuelab.STUDIES:
        profiles = runstore.profiles_with_runs(study, root)
        if not profiles:
            counts.append(f"- **{study}**: no complete run yet")
            continue
        for profile in profiles:
            run = runstore.latest_run(study, profile, root)
            if run is None:
                continue
            data = load_claims(run.claims_path)
            for c in data["claims"]:
                measured = format_measured(c.get("measured"), c.get("interval"), c.get("resampled") or "")
                values = {**c, "study": study, "profile": profile, "control": _control_cell(c.get("control")),
                          "measured": measured if c.get("interval") is not None else c.get("measured")}
                rows.append("| " + " | ".join(_cell(values.get(k)) for k in columns) + " |")
            kinds = dict.fromkeys(c["kind"] for c in data["claims"])
            n = {k: {v: sum(c["kind"] == k and c["verdict"] == v for c in data["claims"]) for v in VERDICTS} for k in kinds}
            env = data.get("environment") or {}
            made = f", commit {env['commit']}, {env.get('finished', '')}" if env.get("commit") else ""
            counts.append(f"- **{study}** (profile {profile}, seed {data['seed']}, run {run.id}{made}): " + summary_line(n))
    lines = [
        "# Claims: what the papers say and what this run measured",
        "",
        "Written by `python -m cuelab.reproduce` from the latest complete run of each study and profile "
        "(reports/<study>/runs/, `make runs`). *measured* is the value with its 95% interval and what was resampled.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *rows,
        "",
        *counts,
        "",
    ]
    out = root / "reports" / "claims.md"
    atomic_write_text(out, "\n".join(lines))
    return out


def plan(study: str | None, run_all: bool, profile: str, root: Path, *, say: TextIO | None = None,
         params: dict[str, Any] | None = None) -> list[str]:
    """The studies to run: check names, input files and every parameter name first, so a long run never
    dies on a typo at the end (nor runs to the end ignoring one)."""
    say = say or sys.stdout
    profile = check_profile(profile)
    if not run_all:
        study = check_study(study)
        check_inputs(study, profile, root)
        check_parameters(study, root, effective_parameters(study, profile, root, params))
        return [study]
    chosen = []
    for s in cuelab.STUDIES:
        if not notebook_path(s, root).is_file():
            print(f"{s}: skipped: notebooks/{s}.ipynb does not exist yet", file=say)
            continue
        check_inputs(s, profile, root)  # a missing profile file is an error, not a skip
        # with --all, PARAMS must suit every study
        check_parameters(s, root, effective_parameters(s, profile, root, params))
        chosen.append(s)
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cuelab.reproduce",
        description="Execute study notebooks with papermill, each run into its own folder "
        "reports/<study>/runs/<UTC>-<profile>-<key8>/ (a complete one becomes the latest of its profile); "
        "write reports/bench.json and reports/claims.md.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--study", help="one study: " + ", ".join(cuelab.STUDIES))
    which.add_argument("--all", action="store_true", help="every study whose notebook exists")
    parser.add_argument("--profile", default="smoke", help="one of: " + ", ".join(cuelab.PROFILES) + " (default smoke)")
    parser.add_argument("--params", action="append", default=[], metavar='"NAME=VALUE …"',
                        help="override notebook parameters (values read as YAML), e.g. --params \"noise_rate=0.3 n_seeds=10\"; "
                        "every name is checked against the notebook's parameters cell first")
    parser.add_argument("--force", action="store_true", help="re-run studies whose complete earlier result has the same key")
    parser.add_argument("--bench", action="store_true", help="print reports/bench.json at the end")
    parser.add_argument("--quiet", action="store_true", help="do not echo papermill's output (it still goes to the log)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (0 all ran, 1 some failed, 2 wrong input)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # argparse has printed its usage message already
        return int(stop.code or 0)
    root = repo_root()
    try:
        params = parse_params(" ".join(args.params))
        studies = plan(args.study, args.all, args.profile, root, params=params)
    except ParameterError as err:  # named, so the line reads as the notebook's own error would
        print(f"cuelab.reproduce: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    except SetupError as err:
        print(f"cuelab.reproduce: {err}", file=sys.stderr)
        return 2
    if not studies:
        print("cuelab.reproduce: no study has a notebook yet; nothing to run.")
        return 0

    results: list[StudyResult] = []
    try:
        for study in studies:
            print(f"== {study} (profile {args.profile}) → {_rel(runstore.runs_dir(study, root), root)}/", flush=True)
            result = run_study(study, args.profile, root, echo=None if args.quiet else sys.stderr,
                               params=params, force=args.force)
            results.append(result)
            print(status_line(result, root), flush=True)
    except KeyboardInterrupt:  # keep what the finished studies measured
        write_bench(results, root)
        write_claims_summary(root)
        print("\ncuelab.reproduce: interrupted; earlier complete runs are untouched; bench.json and claims.md cover "
              "the studies that finished.", file=sys.stderr)
        return 130

    bench = write_bench(results, root)
    summary = write_claims_summary(root)
    print(f"wrote {_rel(bench, root)} and {_rel(summary, root)}")
    if args.bench:
        print(bench.read_text(encoding="utf-8"), end="")

    failed = [r for r in results if not r.ok]
    if failed:
        print(f"\n{len(failed)} of {len(results)} studies failed:", file=sys.stderr)
        for r in failed:
            print(f"  {r.study}: {r.error or 'failed'}", file=sys.stderr)
            where = _rel(r.log, root)
            if r.notebook.is_file():  # papermill writes none when it fails before the first cell
                where += f" and the executed notebook {_rel(r.notebook, root)}"
            print(f"    traceback in {where}; earlier complete runs of {r.study} are untouched", file=sys.stderr)
        return 1
    return 0


def status_line(result: StudyResult, root: Path) -> str:
    """The line the runner prints for a study: its status, time, memory and verdict counts (inconclusive apart),
    or for a failed study the exception's last line."""
    from cuelab.claims import summary_line

    verdicts = f" · {summary_line(result.counts)}" if result.counts else ""
    where = _rel(result.run_dir, root) if result.run_dir else ""
    if result.status == "up to date":
        return (f"== {result.study}: up to date, not run: run {where} has the same key (notebook, parameters, "
                f"library, torch, device), finished {result.finished}; --force (FORCE=1) re-runs it{verdicts}")
    peak = "?" if result.peak_rss_mb is None else f"{result.peak_rss_mb:.0f} MiB"
    if result.ok:
        return f"== {result.study}: ok in {result.wall_s:.1f} s, peak memory {peak} → {where}{verdicts}"
    return f"== {result.study}: failed in {result.wall_s:.1f} s: {result.error or 'see the log'} ({where})"


if __name__ == "__main__":
    sys.exit(main())
