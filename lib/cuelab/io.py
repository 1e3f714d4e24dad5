"""Files cuelab writes under data/ and reports/: written atomically, and caches that heal.

Every writer goes to a temporary name in the target's folder and renames on
success, so an interrupted run never leaves a half-written file that a later
run could take for complete. A cache that fails to load is discarded with a
one-line warning and rebuilt, never a crash.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only when the block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part" + path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write bytes to path atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text to path atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def cached(path: str | Path, load: Callable[[Path], T], build: Callable[[], Any], save: Callable[[Path, Any], None],
           *, what: str = "cache") -> T:
    """Load `path` with `load`; when it is missing or fails to load, build, save atomically, and load again.

    `save(tmp_path, value)` writes to the temporary path it is given. A file that fails to load is reported
    in one line and rebuilt.
    """
    path = Path(path)
    if path.exists():
        try:
            return load(path)
        except Exception as error:  # noqa: BLE001 - any unreadable cache is rebuilt
            warnings.warn(f"{what} {path} could not be read ({type(error).__name__}: {error}); rebuilding it",
                          RuntimeWarning, stacklevel=2)
            path.unlink(missing_ok=True)
    value = build()
    with atomic_path(path) as tmp:
        save(tmp, value)
    return load(path)
