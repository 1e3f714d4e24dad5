"""Run the study notebooks with papermill and sum up what they measured.

    python -m cuelab.reproduce --study xor_grokking --profile smoke
    python -m cuelab.reproduce --all --profile full --bench

Each study runs in its own papermill subprocess (its own kernel), so one study's
memory, seeds or crash cannot leak into the next. For each study it writes
reports/<study>/<study>.ipynb (the executed notebook) and
reports/<study>/papermill.log; the notebook itself writes
reports/<study>/claims.json. Afterwards reports/bench.json gets each study's
wall time and peak memory, and reports/claims.md sets every study's claims side
by side.

Exit status: 0 when every study ran, 1 when any failed (the others still run),
2 for a wrong parameter or a missing notebook or profile file.
"""

from __future__ import annotations

import argparse
import codecs
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import cuelab
from cuelab.claims import VERDICTS, load_claims, summary_line
from cuelab.params import ParameterError, check_profile, check_study
from cuelab.paths import reports_dir, repo_root

KERNEL = "python3"  # the kernelspec ipykernel installs into every venv; jupyter_client runs it with this interpreter


class SetupError(Exception):
    """Something the run needs before it starts is missing (a notebook, a profile file)."""


@dataclass(frozen=True)
class StudyResult:
    """What running one study's notebook gave: its status, time, memory and where to look."""

    study: str
    profile: str
    status: str  # "ok" | "failed"
    wall_s: float
    peak_rss_mb: float | None  # papermill and its kernel; None where the platform has no os.wait4
    finished: str  # ISO 8601, local time with offset
    notebook: Path  # the executed notebook
    log: Path  # papermill's stdout and stderr
    returncode: int

    @property
    def ok(self) -> bool:
        """True when papermill ran the whole notebook without an error."""
        return self.status == "ok"


def notebook_path(study: str, root: Path) -> Path:
    """notebooks/<study>.ipynb under root."""
    return root / "notebooks" / f"{check_study(study)}.ipynb"


def profile_file(study: str, profile: str, root: Path) -> Path | None:
    """The papermill parameters file for a profile, or None for smoke (the notebook's own defaults)."""
    if check_profile(profile) == "smoke":
        return None
    return root / "notebooks" / "profiles" / profile / f"{check_study(study)}.yaml"


def executed_path(study: str, root: Path) -> Path:
    """reports/<study>/<study>.ipynb under root: where papermill writes the executed notebook."""
    return root / "reports" / check_study(study) / f"{study}.ipynb"


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


def papermill_command(study: str, profile: str, root: Path) -> list[str]:
    """The papermill command line that executes one study's notebook into reports/<study>/."""
    out = executed_path(study, root)
    cmd = [
        sys.executable, "-m", "papermill",
        str(notebook_path(study, root)), str(out),
        # -l as well as -k: papermill will not start on a notebook whose metadata lacks a language.
        "-k", KERNEL, "-l", "python",
        # The kernel starts in notebooks/, as it does under Jupyter Lab and nbval, so relative
        # paths in a notebook mean the same thing however it is run.
        "--cwd", str(root / "notebooks"),
        "--progress-bar",
    ]
    params = profile_file(study, profile, root)
    if params is not None:
        cmd += ["-f", str(params)]
    # -p comes after -f in papermill's merge, so the profile name always wins over the file.
    cmd += ["-p", "profile", profile]
    return cmd


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


def run_study(study: str, profile: str, root: str | Path | None = None, *, echo: TextIO | None = None) -> StudyResult:
    """Execute one study's notebook with papermill in a subprocess and measure it.

    papermill's own output goes to reports/<study>/papermill.log (and to echo, when given).
    """
    root = Path(root or repo_root()).resolve()
    study, profile = check_study(study), check_profile(profile)
    check_inputs(study, profile, root)
    folder = reports_dir(study, root)
    out, log = executed_path(study, root), folder / "papermill.log"
    # What an earlier run left would pass for this run's if this one fails before writing its own.
    for stale in (folder / "claims.json", out):
        stale.unlink(missing_ok=True)
    # The notebook finds the repository through CUELAB_ROOT, so its reports land beside the executed notebook.
    env = {**os.environ, "CUELAB_ROOT": str(root), "PYTHONUNBUFFERED": "1", "CUELAB_HEADLESS": "1"}

    cmd = papermill_command(study, profile, root)
    peak_file = folder / ".peak_rss"
    peak_file.unlink(missing_ok=True)
    if hasattr(os, "wait4") and hasattr(os, "posix_spawn"):
        cmd = [sys.executable, "-S", "-c", _LAUNCHER, str(peak_file), *cmd]

    start = time.perf_counter()
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
    wall = time.perf_counter() - start
    peak = _peak_mib(peak_file.read_text()) if peak_file.is_file() else None  # None on Windows
    peak_file.unlink(missing_ok=True)

    return StudyResult(
        study=study,
        profile=profile,
        status="ok" if returncode == 0 else "failed",
        wall_s=round(wall, 2),
        peak_rss_mb=peak,
        finished=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        notebook=out,
        log=log,
        returncode=returncode,
    )


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
    for r in results:
        bench[r.study] = {
            "profile": r.profile,
            "wall_s": r.wall_s,
            "peak_rss_mb": r.peak_rss_mb,
            "status": r.status,
            "finished": r.finished,
        }
    # Studies in cuelab's order, so the file diffs cleanly between runs.
    order = {s: i for i, s in enumerate(cuelab.STUDIES)}
    bench = dict(sorted(bench.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bench, indent=2) + "\n", encoding="utf-8")
    return path


def _cell(value: Any) -> str:
    """A value as a markdown table cell: numbers to 4 significant digits, no pipes or newlines."""
    if value is None:
        text = "—"
    elif isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list):
        text = ", ".join(_cell(v) for v in value)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _control_cell(control: dict | None) -> str | None:
    if not control:
        return None
    return f"{control.get('name')}: {control.get('verdict')}"


def write_claims_summary(root: str | Path | None = None) -> Path:
    """Write reports/claims.md: every study's claims.json in one table, with counts per study."""
    root = Path(root or repo_root())
    columns = ("study", "id", "kind", "statement", "paper", "source", "measured", "rule", "verdict", "control", "post_hoc", "detail")
    rows: list[str] = []
    counts: list[str] = []
    for study in cuelab.STUDIES:
        path = root / "reports" / study / "claims.json"
        if not path.is_file():
            counts.append(f"- **{study}**: no claims.json yet")
            continue
        data = load_claims(path)
        for c in data["claims"]:
            values = {**c, "study": study, "control": _control_cell(c.get("control"))}
            rows.append("| " + " | ".join(_cell(values.get(k)) for k in columns) + " |")
        kinds = dict.fromkeys(c["kind"] for c in data["claims"])
        n = {k: {v: sum(c["kind"] == k and c["verdict"] == v for c in data["claims"]) for v in VERDICTS} for k in kinds}
        env = data.get("environment") or {}
        made = f", commit {env['commit']}, {env.get('finished', '')}" if env.get("commit") else ""
        counts.append(f"- **{study}** (profile {data['profile']}, seed {data['seed']}{made}): " + summary_line(n))
    lines = [
        "# Claims: what the papers say and what this run measured",
        "",
        "Written by `python -m cuelab.reproduce` from reports/<study>/claims.json.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *rows,
        "",
        *counts,
        "",
    ]
    out = root / "reports" / "claims.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def plan(study: str | None, run_all: bool, profile: str, root: Path, *, say: TextIO | None = None) -> list[str]:
    """The studies to run: check names and input files first, so a long run never dies on a typo at the end."""
    say = say or sys.stdout
    profile = check_profile(profile)
    if not run_all:
        study = check_study(study)
        check_inputs(study, profile, root)
        return [study]
    chosen = []
    for s in cuelab.STUDIES:
        if not notebook_path(s, root).is_file():
            print(f"{s}: skipped: notebooks/{s}.ipynb does not exist yet", file=say)
            continue
        check_inputs(s, profile, root)  # a missing profile file is an error, not a skip
        chosen.append(s)
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cuelab.reproduce",
        description="Execute study notebooks with papermill; write reports/<study>/, reports/bench.json "
        "and reports/claims.md.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--study", help="one study: " + ", ".join(cuelab.STUDIES))
    which.add_argument("--all", action="store_true", help="every study whose notebook exists")
    parser.add_argument("--profile", default="smoke", help="one of: " + ", ".join(cuelab.PROFILES) + " (default smoke)")
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
        studies = plan(args.study, args.all, args.profile, root)
    except (ParameterError, SetupError) as err:
        print(f"cuelab.reproduce: {err}", file=sys.stderr)
        return 2
    if not studies:
        print("cuelab.reproduce: no study has a notebook yet; nothing to run.")
        return 0

    results: list[StudyResult] = []
    try:
        for study in studies:
            print(f"== {study} (profile {args.profile}) → {_rel(root / 'reports' / study, root)}/", flush=True)
            result = run_study(study, args.profile, root, echo=None if args.quiet else sys.stderr)
            peak = "?" if result.peak_rss_mb is None else f"{result.peak_rss_mb:.0f} MiB"
            print(f"== {study}: {result.status} in {result.wall_s:.1f} s, peak memory {peak}", flush=True)
            results.append(result)
    except KeyboardInterrupt:  # keep what the finished studies measured
        write_bench(results, root)
        write_claims_summary(root)
        print("\ncuelab.reproduce: interrupted; bench.json and claims.md cover the studies that finished.",
              file=sys.stderr)
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
            where = _rel(r.log, root)
            if r.notebook.is_file():  # papermill writes none when it fails before the first cell
                where += f" and the executed notebook {_rel(r.notebook, root)}"
            print(f"  {r.study}: traceback in {where}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
