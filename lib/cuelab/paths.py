"""Where data and reports live: the repository root, found from the working directory."""

from __future__ import annotations

import os
from pathlib import Path

from cuelab.params import check_study


def repo_root(start: str | Path | None = None) -> Path:
    """The folder holding cuelab's pyproject.toml above start (or $CUELAB_ROOT, or the cwd)."""
    if os.environ.get("CUELAB_ROOT"):
        return Path(os.environ["CUELAB_ROOT"]).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "lib" / "cuelab").is_dir():
            return folder
    return here


def reports_dir(study: str, root: str | Path | None = None) -> Path:
    """Where a notebook writes its claims.json and figures (created).

    Under the runner (`make reproduce`), $CUELAB_RUN_DIR names this run's own folder,
    reports/<study>/runs/<UTC>-<profile>-<key8>/ (cuelab.runstore), so a run never writes over an earlier one;
    it is used when it belongs to this study and no root is given. Otherwise (a notebook opened in JupyterLab)
    it is reports/<study>/ under the repository root.
    """
    study = check_study(study)
    run = os.environ.get("CUELAB_RUN_DIR")
    if run and root is None:
        folder = Path(run).resolve()
        if folder.parent.name == "runs" and folder.parent.parent.name == study:
            folder.mkdir(parents=True, exist_ok=True)
            return folder
    folder = Path(root or repo_root()) / "reports" / study
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def data_dir(root: str | Path | None = None) -> Path:
    """The cache of downloaded or generated data (created): $CUELAB_DATA when set (a GPU runner keeps its
    caches outside the checkout this way), else data/ under the repository root."""
    if root is None and os.environ.get("CUELAB_DATA"):
        folder = Path(os.environ["CUELAB_DATA"]).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    folder = Path(root or repo_root()) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
