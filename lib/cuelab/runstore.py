"""The run store: every run of a study in its own folder, and a complete one promoted atomically.

    reports/<study>/runs/<UTC>-<profile>-<key8>/   one run: <study>.ipynb (the executed notebook), claims.json,
                                                   figures/, parameters.yaml, papermill.log and run.json
    reports/<study>/latest-<profile>.json          {"run": "<run id>", ...}: the latest complete run of a profile
    reports/<study>/<profile>                      a symbolic link to runs/<run id>, for people (where links exist)

A run's folder is made before its kernel starts and run.json says its status from then on: "running" (with the
runner's process id), then "complete", "failed" or "interrupted". A runner that died hard leaves "running" with a
process that no longer exists, read as "interrupted". Only a complete run (status complete, its executed notebook
and claims.json present) is promoted, by replacing the pointer file with os.replace, so a failed, interrupted or
typo'd run never touches an earlier complete one, and smoke and full runs never share a folder.

Everything that reads a study's result (reports/claims.md, `make compare`, `make record`) reads the latest
complete run of the profile through `latest_run`. `python -m cuelab.runstore list` (make runs) lists the runs;
`python -m cuelab.runstore prune` (make prune-runs) removes old ones, and always keeps the latest complete run
of each profile and any run still in progress.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cuelab.io import atomic_write_text
from cuelab.params import check_study

STATUSES = ("running", "complete", "failed", "interrupted")
RECORD = "run.json"


def study_dir(study: str, root: str | Path) -> Path:
    """reports/<study>/ under root (not created)."""
    return Path(root) / "reports" / check_study(study)


def runs_dir(study: str, root: str | Path) -> Path:
    """reports/<study>/runs/ under root (not created)."""
    return study_dir(study, root) / "runs"


def pointer_path(study: str, profile: str, root: str | Path) -> Path:
    """reports/<study>/latest-<profile>.json: names the latest complete run of that profile."""
    return study_dir(study, root) / f"latest-{profile}.json"


def utc_now() -> str:
    """The time now in UTC, ISO 8601 to the second ("2026-12-04T19:10:00Z")."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_id(profile: str, key: str, when: dt.datetime | None = None) -> str:
    """"<UTC>-<profile>-<key8>": sorts by time, and names the profile and the run key."""
    when = when or dt.datetime.now(dt.timezone.utc)
    return f"{when.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{profile}-{key[:8]}"


def read_record(folder: str | Path) -> dict[str, Any] | None:
    """A run folder's run.json, or None when it is missing or cut short."""
    try:
        record = json.loads((Path(folder) / RECORD).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def write_record(folder: str | Path, record: dict[str, Any]) -> Path:
    """Write a run folder's run.json atomically."""
    return atomic_write_text(Path(folder) / RECORD, json.dumps(record, indent=2, default=str) + "\n")


def create_run(study: str, profile: str, key: str, root: str | Path, record: dict[str, Any] | None = None) -> Path:
    """Make a new run folder (never an existing one) and write its run.json with status "running"."""
    parent = runs_dir(study, root)
    parent.mkdir(parents=True, exist_ok=True)
    base = run_id(profile, key)
    for i in range(1, 1000):
        folder = parent / (base if i == 1 else f"{base}.{i}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        write_record(folder, {"id": folder.name, "study": study, "profile": profile, "key": key, "status": "running",
                              "started": utc_now(), "pid": os.getpid(), "host": socket.gethostname(),
                              **(record or {})})
        return folder
    raise RuntimeError(f"could not make a new run folder under {parent}")


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError, OverflowError):
        return False
    return True


def status(folder: str | Path, record: dict[str, Any] | None = None) -> str:
    """A run's status: its run.json's, with a "running" run whose runner is gone read as "interrupted".

    A complete run whose notebook or claims.json has gone is not complete ("failed"); a folder without a
    readable run.json is "interrupted" (it died before or while writing it).
    """
    folder = Path(folder)
    record = record if record is not None else read_record(folder)
    if record is None:
        return "interrupted"
    state = record.get("status")
    if state == "running":
        same_host = record.get("host") in (None, socket.gethostname())
        return "running" if same_host and _alive(record.get("pid")) else "interrupted"
    if state == "complete":
        study = record.get("study", "")
        if not ((folder / "claims.json").is_file() and (folder / f"{study}.ipynb").is_file()):
            return "failed"
    return state if state in STATUSES else "interrupted"


def is_complete(folder: str | Path) -> bool:
    """True when the run finished, and its notebook and claims.json are there."""
    return status(folder) == "complete"


@dataclass(frozen=True)
class Run:
    """One run folder and what its run.json says."""

    folder: Path
    record: dict[str, Any]
    status: str

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def study(self) -> str:
        return str(self.record.get("study", self.folder.parent.parent.name))

    @property
    def profile(self) -> str:
        return str(self.record.get("profile", "?"))

    @property
    def key(self) -> str:
        return str(self.record.get("key", ""))

    @property
    def claims_path(self) -> Path:
        return self.folder / "claims.json"

    @property
    def notebook(self) -> Path:
        return self.folder / f"{self.study}.ipynb"


def list_runs(root: str | Path, study: str | None = None, profile: str | None = None) -> list[Run]:
    """The runs in the store, oldest first (by run id, which starts with the UTC time)."""
    import cuelab

    studies = [check_study(study)] if study else list(cuelab.STUDIES)
    runs = []
    for s in studies:
        parent = runs_dir(s, root)
        if not parent.is_dir():
            continue
        for folder in sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")):
            record = read_record(folder) or {"study": s, "profile": _profile_from_id(folder.name)}
            run = Run(folder, record, status(folder, read_record(folder)))
            if profile is None or run.profile == profile:
                runs.append(run)
    return runs


def _profile_from_id(name: str) -> str:
    parts = name.split("-")
    return parts[1] if len(parts) >= 3 else "?"


def latest_run(study: str, profile: str, root: str | Path) -> Run | None:
    """The latest complete run of a study's profile: the one the pointer names, else the newest complete one."""
    pointer = pointer_path(study, profile, root)
    try:
        name = json.loads(pointer.read_text(encoding="utf-8")).get("run")
    except (OSError, json.JSONDecodeError, AttributeError):
        name = None
    if name:
        folder = runs_dir(study, root) / str(name)
        record = read_record(folder)
        if record is not None and status(folder, record) == "complete":
            return Run(folder, record, "complete")
    complete = [r for r in list_runs(root, study, profile) if r.status == "complete"]
    return complete[-1] if complete else None


def latest_claims(study: str, profile: str, root: str | Path) -> Path | None:
    """claims.json of the latest complete run of a study's profile, or None."""
    run = latest_run(study, profile, root)
    return run.claims_path if run else None


def profiles_with_runs(study: str, root: str | Path) -> list[str]:
    """The profiles that have a complete run of this study, in cuelab.PROFILES order, then by name."""
    import cuelab

    found = {r.profile for r in list_runs(root, study) if r.status == "complete"}
    order = {p: i for i, p in enumerate(cuelab.PROFILES)}
    return sorted(found, key=lambda p: (order.get(p, len(order)), p))


def find_complete(study: str, profile: str, key: str, root: str | Path) -> Run | None:
    """The newest complete run of this study and profile with this run key (the latest one first), or None."""
    latest = latest_run(study, profile, root)
    if latest is not None and latest.key == key:
        return latest
    same = [r for r in list_runs(root, study, profile) if r.status == "complete" and r.key == key]
    return same[-1] if same else None


def promote(folder: str | Path, root: str | Path) -> Path:
    """Make a complete run the latest of its profile: replace the pointer file atomically, then the link."""
    folder = Path(folder)
    record = read_record(folder)
    if record is None or status(folder, record) != "complete":
        raise ValueError(f"{folder} is not a complete run; only a complete run is promoted")
    study, profile = record["study"], record["profile"]
    pointer = pointer_path(study, profile, root)
    atomic_write_text(pointer, json.dumps({"run": folder.name, "study": study, "profile": profile,
                                           "promoted": utc_now()}, indent=2) + "\n")
    _link(study_dir(study, root) / profile, Path("runs") / folder.name)
    return pointer


def _link(link: Path, target: Path) -> None:
    """Point link at target (relative), atomically where symbolic links exist; never replaces a real folder."""
    if link.exists() and not link.is_symlink():
        return  # a folder of that name (an older layout, or the user's): leave it alone
    tmp = link.with_name(f".{link.name}.link-{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp, target_is_directory=True)
        os.replace(tmp, link)
    except (OSError, NotImplementedError):  # no symbolic links here (Windows without the privilege)
        tmp.unlink(missing_ok=True)


def claim_counts(run: Run) -> dict[str, dict[str, int]] | None:
    """Verdict counts per kind of a run's claims.json, None when it has none (a failed run's are not counted)."""
    for name in ("claims.json",):
        path = run.folder / name
        if path.is_file():
            try:
                from cuelab.claims import load_claims

                claims = load_claims(path)["claims"]
            except (ValueError, OSError):
                return None
            from cuelab.claims import KINDS, UNKNOWN, VERDICTS

            kinds = [k for k in (*KINDS, UNKNOWN) if any(c["kind"] == k for c in claims)]
            return {k: {v: sum(c["kind"] == k and c["verdict"] == v for c in claims) for v in VERDICTS} for k in kinds}
    return None


_KIND_LETTER = {"reproduction": "R", "sanity": "S", "extension": "E", "unknown": "?"}


def counts_text(counts: dict[str, dict[str, int]] | None) -> str:
    """"R 5/1/1/0 · S 3/0/0/0": holds/fails/inconclusive/not run per kind (reproductions first)."""
    if not counts:
        return "—"
    return " · ".join(f"{_KIND_LETTER.get(k, k)} {n.get('holds', 0)}/{n.get('fails', 0)}/{n.get('inconclusive', 0)}/"
                      f"{n.get('not run', 0)}" for k, n in counts.items())


def _when(record: dict[str, Any]) -> str:
    return str(record.get("started") or "?").replace("T", " ").removesuffix("Z")


def _wall(record: dict[str, Any]) -> str:
    wall = record.get("wall_s")
    if not isinstance(wall, (int, float)):
        return "—"
    return f"{wall:.0f} s" if wall < 600 else f"{wall / 60:.1f} min"


def table(root: str | Path, study: str | None = None) -> str:
    """The runs as a text table: study, profile, status, when, wall time, verdict counts, run id."""
    runs = list_runs(root, study)
    if not runs:
        return "no runs yet under reports/<study>/runs/ (make reproduce STUDY=… writes one)"
    latest = {}
    for r in runs:
        key = (r.study, r.profile)
        if key not in latest:
            lr = latest_run(r.study, r.profile, root)
            latest[key] = lr.id if lr else None
    rows = [("study", "profile", "status", "started (UTC)", "wall", "verdicts R/S/E: holds/fails/inconclusive/not run",
             "run")]
    for r in runs:
        mark = "  ← latest" if latest.get((r.study, r.profile)) == r.id else ""
        error = r.record.get("error") if r.status in ("failed", "interrupted") else ""
        rows.append((r.study, r.profile, r.status, _when(r.record), _wall(r.record), counts_text(claim_counts(r)),
                     r.id + mark + (f"  ({error})" if error else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows)


def prune(root: str | Path, study: str | None = None, *, keep: int = 1, dry_run: bool = False) -> list[Path]:
    """Remove old runs; keep the latest complete run of each profile (and `keep` newest complete ones per profile),
    every run still in progress, and nothing else. Returns the folders removed (or that would be, with dry_run)."""
    if keep < 1:
        raise ValueError(f"keep={keep!r} is not accepted: keep must be ≥ 1 (the latest complete run always stays)")
    runs = list_runs(root, study)
    keep_ids: set[Path] = set()
    for s, p in {(r.study, r.profile) for r in runs}:
        latest = latest_run(s, p, root)
        if latest is not None:
            keep_ids.add(latest.folder)
        others = [r.folder for r in runs if r.study == s and r.profile == p and r.status == "complete"
                  and (latest is None or r.folder != latest.folder)]
        keep_ids.update(others[len(others) - (keep - 1 if latest is not None else keep):] if keep > 1 or latest is None
                        else [])
    removed = []
    for r in runs:
        if r.folder in keep_ids or r.status == "running":
            continue
        removed.append(r.folder)
        if not dry_run:
            shutil.rmtree(r.folder)
    return removed


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m cuelab.runstore list [--study S]` and `python -m cuelab.runstore prune [--study S] [--keep N]`."""
    from cuelab.paths import repo_root

    parser = argparse.ArgumentParser(prog="python -m cuelab.runstore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="list the runs (make runs)")
    ls.add_argument("--study")
    pr = sub.add_parser("prune", help="remove old runs; keeps the latest complete run of each profile (make prune-runs)")
    pr.add_argument("--study")
    pr.add_argument("--keep", type=int, default=1, help="complete runs to keep per study and profile (default 1)")
    pr.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    root = repo_root()
    try:
        if args.command == "list":
            print(table(root, args.study or None))
            return 0
        removed = prune(root, args.study or None, keep=args.keep, dry_run=args.dry_run)
    except ValueError as err:
        print(f"cuelab.runstore: {err}", file=sys.stderr)
        return 2
    verb = "would remove" if args.dry_run else "removed"
    for folder in removed:
        print(f"{verb} {folder.relative_to(root) if folder.is_relative_to(root) else folder}")
    print(f"{verb} {len(removed)} run(s); kept the latest complete run of each study and profile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
