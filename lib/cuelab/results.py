"""Committed reference results: results/<study>/<profile>.json, recorded from a complete run, and compared.

    python -m cuelab.results record --study global_shape --profile full     (make record STUDY=… PROFILE=…)
    python -m cuelab.results compare --study xor_grokking --profile full    (make compare STUDY=… PROFILE=…)
    python -m cuelab.results compare --all --profile smoke                  (make compare-all PROFILE=…)

A reference result holds a run's claims with their intervals (what claims.json holds), its provenance (the clean
commit that made it, package versions, device, cores, wall time, the effective parameters and the run key) and,
where a notebook saved them, small per-item scores (numbers only: per-run values, per-triplet scores; see
`save_scores`). `record` takes the latest complete run of the profile (cuelab.runstore) and refuses a working tree
with uncommitted changes to tracked files, and a run that was made from one: a reference must name the code that
made it.

`compare` sets the latest complete run of a profile beside the committed reference of that profile: the same
parameters, the same claims, the same verdicts (and controls' verdicts), and every measured value inside the
reference's 95% interval (a point value: equal within a small tolerance). It prints a table of the differences and
exits 1 when there is any, 2 when there is no reference or no run to compare.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

from cuelab import runinfo, runstore
from cuelab.io import atomic_write_text
from cuelab.params import ParameterError, check_study

FORMAT = 1
SCORES = "scores.json"
MAX_SCORES = 200_000  # numbers: per-item scores stay small enough to commit (about 2 MB of JSON at most)
REL_TOL = 1e-4  # a point value compares equal within this relative tolerance (6 significant digits are stored)
ABS_TOL = 1e-9
CLAIM_FIELDS = ("id", "statement", "kind", "paper", "source", "measured", "interval", "n", "resampled", "no_interval",
                "rule", "verdict", "detail", "post_hoc", "control")


class RecordError(Exception):
    """A reference result cannot be recorded or compared (a dirty tree, no complete run, no reference)."""


def results_dir(root: str | Path) -> Path:
    """results/ under the repository root: the committed reference results."""
    return Path(root) / "results"


def reference_path(study: str, profile: str, root: str | Path) -> Path:
    """results/<study>/<profile>.json."""
    return results_dir(root) / check_study(study) / f"{profile}.json"


def references(root: str | Path) -> list[Path]:
    """Every committed reference result, study by study in cuelab's order, then by profile."""
    import cuelab

    found = []
    for study in cuelab.STUDIES:
        folder = results_dir(root) / study
        if folder.is_dir():
            found += sorted(folder.glob("*.json"))
    return found


def load_reference(path: str | Path) -> dict[str, Any]:
    """Read a reference result; its claims read as claims.json's do (a missing interval is a point value)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    for key in ("study", "profile", "claims"):
        if key not in data:
            raise ValueError(f"{path}: a reference result lacks {key!r}")
    for c in data["claims"]:
        c.setdefault("interval", None)
        c.setdefault("n", None)
        c.setdefault("resampled", "")
        c.setdefault("control", None)
        c.setdefault("kind", "unknown")
    data.setdefault("provenance", {})
    return data


# --- per-item scores -------------------------------------------------------------------------------------


def _count_numbers(value: Any, where: str) -> int:
    if value is None or (isinstance(value, Real) and not isinstance(value, bool)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(where, value, "a finite number or null")
        return 1
    if isinstance(value, (list, tuple)):
        return sum(_count_numbers(v, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(value, Mapping):
        total = 0
        for k, v in value.items():
            if not isinstance(k, str):
                raise ParameterError(where, k, "a mapping with string keys")
            total += _count_numbers(v, f"{where}.{k}")
        return total
    raise ParameterError(where, type(value).__name__, "numbers only (lists or mappings of numbers; no text, images or data)")


def check_scores(scores: Any) -> int:
    """Check per-item scores are numbers only and small (≤ MAX_SCORES numbers); return how many numbers."""
    if not isinstance(scores, Mapping):
        raise ParameterError("scores", type(scores).__name__, "a mapping of names to numbers or lists of numbers")
    n = _count_numbers(scores, "scores")
    if n > MAX_SCORES:
        raise ParameterError("scores", f"{n:,} numbers", f"at most {MAX_SCORES:,} numbers (keep per-item scores small)")
    return n


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.6g}")
    return value


def save_scores(study: str, scores: Mapping[str, Any]) -> Path:
    """Save small per-item scores (numbers only) beside the run's claims.json, for `record` to keep.

    In a notebook: `save_scores("global_shape", {"efficientnet_lite0": per_triplet_correct, ...})`. numpy arrays
    and scalars are accepted; floats keep 6 significant digits. Under the runner the file lands in the run's folder.
    """
    from cuelab.paths import reports_dir

    scores = _plain(dict(scores))
    check_scores(scores)
    return atomic_write_text(reports_dir(study) / SCORES, json.dumps(scores, separators=(",", ":")) + "\n")


def run_scores(run: runstore.Run) -> dict[str, Any] | None:
    """A run's per-item scores: its scores.json, else a "scores" entry of its claims.json; None when it has none."""
    path = run.folder / SCORES
    scores = None
    if path.is_file():
        scores = json.loads(path.read_text(encoding="utf-8"))
    else:
        claims = json.loads(run.claims_path.read_text(encoding="utf-8"))
        scores = claims.get("scores")
    if scores is None:
        return None
    check_scores(scores)
    return scores


# --- record ----------------------------------------------------------------------------------------------


def _is_ancestor(commit: str, root: Path) -> bool:
    try:
        done = subprocess.run(["git", "merge-base", "--is-ancestor", commit, "HEAD"], cwd=root, capture_output=True,
                              timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _clean(commit: Any) -> bool:
    return isinstance(commit, str) and bool(commit) and not commit.endswith("+dirty")


def build_reference(run: runstore.Run) -> dict[str, Any]:
    """The reference result of a complete run: claims with intervals, provenance, per-item scores."""
    from cuelab.claims import load_claims

    data = load_claims(run.claims_path)
    env = data.get("environment") or {}
    inputs = run.record.get("inputs") or {}
    claims = [{k: c.get(k) for k in CLAIM_FIELDS} for c in data["claims"]]
    kinds = [k for k in ("reproduction", "sanity", "extension", "unknown") if any(c["kind"] == k for c in claims)]
    from cuelab.claims import VERDICTS

    summary = {k: {v: sum(c["kind"] == k and c["verdict"] == v for c in claims) for v in VERDICTS} for k in kinds}
    reference = {
        "format": FORMAT,
        "study": data["study"],
        "profile": data["profile"],
        "seed": data["seed"],
        "run": run.id,
        "recorded": runstore.utc_now(),
        "provenance": {
            "commit": env.get("commit") or run.record.get("commit"),
            "versions": env.get("versions"),
            "device": env.get("device"),
            "cpu_count": env.get("cpu_count"),
            "wall_s": run.record.get("wall_s"),
            "peak_rss_mb": run.record.get("peak_rss_mb"),
            "finished": env.get("finished") or run.record.get("finished"),
            "run_key": run.key,
            "parameters": inputs.get("parameters"),
        },
        "summary": summary,
        "claims": claims,
    }
    scores = run_scores(run)
    if scores is not None:
        reference["scores"] = scores
    return reference


def record(study: str, profile: str, root: str | Path, run_id: str | None = None) -> Path:
    """Write results/<study>/<profile>.json from the latest complete run of that profile (or the run named).

    Refuses (RecordError) a working tree with uncommitted changes to tracked files, a run made from a dirty tree
    or from a commit that is not in this checkout's history, and a run that is not complete.
    """
    root = Path(root)
    study = check_study(study)
    head = runinfo.git_commit(root)
    if head is None:
        raise RecordError(f"{root} is not a git checkout: a reference result must name the commit that made it")
    if head.endswith("+dirty"):
        raise RecordError("the working tree has uncommitted changes to tracked files (git status): commit them, "
                          "rerun the study, then record; a reference result must name the code that made it")
    if run_id:
        folder = runstore.runs_dir(study, root) / run_id
        record_ = runstore.read_record(folder)
        if record_ is None or runstore.status(folder, record_) != "complete":
            raise RecordError(f"run {run_id} of {study} is not a complete run (make runs lists them)")
        run = runstore.Run(folder, record_, "complete")
    else:
        run = runstore.latest_run(study, profile, root)
        if run is None:
            raise RecordError(f"{study} has no complete run of profile {profile!r} yet: "
                              f"make reproduce STUDY={study} PROFILE={profile} first")
    if run.profile != profile:
        raise RecordError(f"run {run.id} is of profile {run.profile!r}, not {profile!r}")
    reference = build_reference(run)
    made = {run.record.get("commit"), reference["provenance"]["commit"]}
    if not all(_clean(c) for c in made) or len(made) != 1:
        raise RecordError(f"run {run.id} was made from {' and '.join(sorted(map(str, made)))}, not from one clean "
                          "commit: rerun the study on a clean tree (make reproduce … FORCE=1), then record")
    commit = made.pop()
    if not _is_ancestor(commit.split("+")[0], root):
        raise RecordError(f"run {run.id} was made from commit {commit}, which is not in this checkout's history")
    path = reference_path(study, profile, root)
    atomic_write_text(path, json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
    return path


# --- compare ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way a fresh run differs from the reference."""

    claim: str  # claim id, or "parameters" / "run"
    what: str  # "verdict", "measured", "control", "missing", "new", a parameter's name
    reference: str
    fresh: str
    note: str = ""


def _num(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


def _fmt(x: Any) -> str:
    from cuelab.claims import format_value

    return format_value(x)


def _parts(measured: Any, interval: Any) -> list[tuple[Any, Any]]:
    if isinstance(measured, list):
        ivs = interval if isinstance(interval, list) and interval and isinstance(interval[0], (list, type(None))) \
            else [None] * len(measured)
        return list(zip(measured, ivs if len(ivs) == len(measured) else [None] * len(measured)))
    return [(measured, interval)]


def value_difference(ref_measured: Any, ref_interval: Any, fresh: Any, *, rel_tol: float = REL_TOL,
                     abs_tol: float = ABS_TOL) -> str:
    """"" when the fresh value agrees with the reference (inside its interval; a point value: equal within the
    tolerance), else why not."""
    refs = _parts(ref_measured, ref_interval)
    news = fresh if isinstance(fresh, list) else [fresh]
    if isinstance(ref_measured, list) != isinstance(fresh, list) or len(refs) != len(news):
        return "a different shape of measurement"
    notes = []
    for i, ((ref, iv), new) in enumerate(zip(refs, news)):
        where = f"part {i + 1}: " if len(refs) > 1 else ""
        if _num(ref) and _num(new):
            if iv is not None and all(_num(v) for v in iv):
                lo, hi = iv
                if not (lo - abs_tol <= new <= hi + abs_tol):
                    notes.append(f"{where}{_fmt(new)} outside the reference interval [{_fmt(lo)}, {_fmt(hi)}]")
            elif not math.isclose(new, ref, rel_tol=rel_tol, abs_tol=abs_tol):
                notes.append(f"{where}{_fmt(new)} ≠ {_fmt(ref)} (a point value; tolerance {rel_tol:g} relative)")
        elif ref != new:
            notes.append(f"{where}{_fmt(new)} ≠ {_fmt(ref)}")
    return "; ".join(notes)


def compare_claims(reference: dict[str, Any], fresh: dict[str, Any], fresh_parameters: dict[str, Any] | None = None,
                   *, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> list[Difference]:
    """The differences between a reference result and a fresh run's claims (and its parameters, when given)."""
    from cuelab.claims import format_measured

    diffs: list[Difference] = []
    ref_params = (reference.get("provenance") or {}).get("parameters")
    if ref_params is not None and fresh_parameters is not None:
        for name in sorted(set(ref_params) | set(fresh_parameters)):
            a, b = ref_params.get(name, "(unset)"), fresh_parameters.get(name, "(unset)")
            if a != b:
                diffs.append(Difference("parameters", name, _fmt(a), _fmt(b), "the runs are not of the same parameters"))
    ref_claims = {c["id"]: c for c in reference["claims"]}
    new_claims = {c["id"]: c for c in fresh["claims"]}
    for cid, ref in ref_claims.items():
        new = new_claims.get(cid)
        if new is None:
            diffs.append(Difference(cid, "missing", ref.get("verdict", "?"), "—", "the fresh run has no such claim"))
            continue
        if ref.get("verdict") != new.get("verdict"):
            diffs.append(Difference(cid, "verdict", ref.get("verdict", "?"), new.get("verdict", "?")))
        note = value_difference(ref.get("measured"), ref.get("interval"), new.get("measured"), rel_tol=rel_tol,
                                abs_tol=abs_tol)
        if note:
            diffs.append(Difference(cid, "measured", format_measured(ref.get("measured"), ref.get("interval"),
                                                                     ref.get("resampled") or ""),
                                    format_measured(new.get("measured"), new.get("interval"), new.get("resampled") or ""),
                                    note))
        rc, nc = (ref.get("control") or {}).get("verdict"), (new.get("control") or {}).get("verdict")
        if rc != nc:
            diffs.append(Difference(cid, "control", str(rc), str(nc), "the negative control's verdict"))
    for cid in new_claims.keys() - ref_claims.keys():
        diffs.append(Difference(cid, "new", "—", new_claims[cid].get("verdict", "?"), "not in the reference"))
    return diffs


def compare(study: str, profile: str, root: str | Path, *, rel_tol: float = REL_TOL,
            abs_tol: float = ABS_TOL, claims: str | Path | None = None) -> tuple[list[Difference], Any, Path]:
    """Compare the latest complete run of a study's profile with results/<study>/<profile>.json.

    claims: a claims.json to compare instead of the latest run (e.g. reports/<study>/claims.json, which a notebook
    executed outside the runner writes: nbval's run in `make test`). Its parameters are not compared.
    """
    from cuelab.claims import load_claims

    root = Path(root)
    path = reference_path(study, profile, root)
    if not path.is_file():
        raise RecordError(f"{path.relative_to(root)} does not exist: no reference result of {study} for profile "
                          f"{profile!r} (make record STUDY={study} PROFILE={profile} writes one from a clean run)")
    if claims is not None:
        claims = Path(claims)
        if not claims.is_file():
            raise RecordError(f"{claims} does not exist: no claims.json of {study} to compare")
        fresh = load_claims(claims)
        if fresh.get("profile") != profile:
            raise RecordError(f"{claims} is a {fresh.get('profile')!r} run, not {profile!r}")
        return compare_claims(load_reference(path), fresh, None, rel_tol=rel_tol, abs_tol=abs_tol), claims, path
    run = runstore.latest_run(study, profile, root)
    if run is None:
        raise RecordError(f"{study} has no complete run of profile {profile!r} to compare: "
                          f"make reproduce STUDY={study} PROFILE={profile} first")
    fresh = load_claims(run.claims_path)
    params = (run.record.get("inputs") or {}).get("parameters")
    return compare_claims(load_reference(path), fresh, params, rel_tol=rel_tol, abs_tol=abs_tol), run, path


def difference_table(diffs: Sequence[Difference]) -> str:
    """The differences as a text table."""
    rows = [("claim", "what", "reference", "this run", "note")] + [
        (d.claim, d.what, d.reference, d.fresh, d.note) for d in diffs]
    widths = [min(60, max(len(r[i]) for r in rows)) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (record, compare); returns 0, 1 (differences) or 2 (cannot record or compare)."""
    import cuelab
    from cuelab.paths import repo_root

    parser = argparse.ArgumentParser(prog="python -m cuelab.results", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="write results/<study>/<profile>.json from the latest complete run")
    rec.add_argument("--study", required=True)
    rec.add_argument("--profile", default="smoke")
    rec.add_argument("--run", help="a run id (make runs) instead of the latest complete run")
    cmp_ = sub.add_parser("compare", help="compare the latest complete run with the committed reference")
    which = cmp_.add_mutually_exclusive_group(required=True)
    which.add_argument("--study")
    which.add_argument("--all", action="store_true", help="every study with a reference result for the profile")
    cmp_.add_argument("--profile", default="smoke")
    cmp_.add_argument("--rel-tol", type=float, default=REL_TOL, help=f"point values: relative tolerance ({REL_TOL:g})")
    cmp_.add_argument("--claims-dir", help="compare DIR/<study>/claims.json (e.g. reports, after nbval in make test) "
                      "instead of the latest complete run")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    root = repo_root()
    try:
        if args.command == "record":
            path = record(args.study, args.profile, root, args.run)
            data = load_reference(path)
            print(f"recorded {_rel(path, root)} from run {data['run']} (commit {data['provenance']['commit']}, "
                  f"{len(data['claims'])} claims{', per-item scores' if 'scores' in data else ''})")
            return 0
        studies = [check_study(args.study)] if args.study else [
            s for s in cuelab.STUDIES if reference_path(s, args.profile, root).is_file()]
        if not studies:  # nothing committed for this profile yet: nothing can differ
            print(f"cuelab.results: no reference results for profile {args.profile!r} under results/ yet; "
                  "nothing to compare")
            return 0
        status = 0
        for study in studies:
            claims = Path(args.claims_dir) / study / "claims.json" if args.claims_dir else None
            diffs, run, path = compare(study, args.profile, root, rel_tol=args.rel_tol, claims=claims)
            what = f"run {run.id}" if claims is None else _rel(claims.resolve(), root)
            if diffs:
                print(f"== {study} ({args.profile}): {len(diffs)} difference(s) between {what} and "
                      f"{_rel(path, root)}:")
                print(difference_table(diffs))
                status = 1
            else:
                print(f"== {study} ({args.profile}): {what} agrees with {_rel(path, root)}: same "
                      f"{'parameters, ' if claims is None else ''}claims and verdicts; every value inside the "
                      "reference's interval")
        return status
    except (RecordError, ParameterError, ValueError) as err:
        print(f"cuelab.results: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
