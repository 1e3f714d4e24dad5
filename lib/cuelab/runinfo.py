"""What a result was produced on: commit, library versions, device and wall time.

Recorded beside the claims in claims.json and in reports/bench.json, so a GPU
runner's result can be told from a laptop's. It is kept apart from the claims:
two runs of the same seed on the same machine give the same claims, not the
same wall time.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "torchvision", "lightning", "numpy")


def package_version(package: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit(root: str | Path | None = None) -> str | None:
    """The checkout's HEAD commit, with "+dirty" when tracked files differ from it; None outside git."""
    cwd = Path(root) if root else Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name() -> str:
    """The GPU's name when torch sees one, else "cpu: <model>"."""
    try:
        import torch

        if torch.cuda.is_available():
            return "cuda: " + torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 - a broken CUDA setup still gets a record
        pass
    return "cpu: " + cpu_model()


def process_seconds() -> float | None:
    """Seconds since this process (e.g. the notebook's kernel) started; None where /proc is missing."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 1)
    except (OSError, ValueError, IndexError):
        return None


def environment(started: float | None = None, root: str | Path | None = None) -> dict[str, Any]:
    """The record: commit, versions, device, cores, and wall time since `started` (time.time()) or since the process began."""
    wall = round(time.time() - started, 1) if started is not None else process_seconds()
    return {
        "commit": git_commit(root),
        "versions": {p: package_version(p) for p in PACKAGES} | {"python": platform.python_version()},
        "device": device_name(),
        "cpu_count": os.cpu_count(),
        "wall_s": wall,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
