"""Progress bars that a notebook keeps honest: a live widget for a person, one plain line when headless.

`bar(iterable, desc=..., total=...)` is a drop-in for `tqdm(...)` (iterate it, or use it as a context manager and
call `.update()`). In a live session (JupyterLab, a terminal) it is tqdm.auto's bar: an ipywidgets bar in a kernel,
a text bar in a terminal, written to stdout. Headless (cuelab.explore.headless(): papermill, nbval, the site,
`make refresh-notebooks`, `cuelab.reproduce`) it writes nothing while it runs and one line on stdout when it
ends, e.g. "zoo (2 processes): 12/12 in 48 s", so a saved notebook carries the bar's final state as text and no
widget (a widget saved mid-run reads "0%" forever). Progress never goes to stderr: in JupyterLab stderr's pink
background reads as an error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any


def headless() -> bool:
    """cuelab.explore.headless(): True when no person is looking (CUELAB_HEADLESS set)."""
    from cuelab.explore import headless as _headless

    return _headless()


class TextBar:
    """A progress bar that prints one line, at its end: "<desc>: <n>/<total> in <s> s"."""

    def __init__(self, iterable: Iterable[Any] | None = None, desc: str | None = None, total: float | None = None,
                 disable: bool = False, file: Any = None, unit: str = "", **_: Any) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.iterable, self.desc, self.total, self.disable = iterable, desc or "", total, disable
        self.file, self.unit = file, unit
        self.n = 0
        self.closed = False
        self.start = time.perf_counter()

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this progress bar was made without an iterable; call update() instead")
        finished = False
        try:
            for item in self.iterable:
                yield item
                self.n += 1
            finished = True
        finally:
            self.close(stopped=not finished)

    def __len__(self) -> int:
        return int(self.total) if self.total is not None else len(self.iterable)  # type: ignore[arg-type]

    def __enter__(self) -> "TextBar":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.close(stopped=exc_type is not None)

    def update(self, n: float = 1) -> None:
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Accepted for tqdm compatibility; the one headless line does not show it."""

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def line(self, stopped: bool = False) -> str:
        """The bar's state as one line of text."""
        n = int(self.n) if float(self.n).is_integer() else self.n
        count = f"{n}/{int(self.total)}" if self.total is not None else f"{n}"
        unit = f" {self.unit}" if self.unit and self.unit != "it" else ""
        seconds = time.perf_counter() - self.start
        when = f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
        head = f"{self.desc}: " if self.desc else ""
        return f"{head}{count}{unit} {'stopped after' if stopped else 'in'} {when}"

    def close(self, stopped: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.disable:
            out = self.file if self.file is not None else sys.stdout
            print(self.line(stopped), file=out, flush=True)


def bar(iterable: Iterable[Any] | None = None, desc: str | None = None, total: float | None = None, *,
        disable: bool = False, **kwargs: Any) -> Any:
    """A progress bar over iterable (or one to .update() by hand): a widget live, one stdout line headless."""
    if headless():
        return TextBar(iterable, desc=desc, total=total, disable=disable, **kwargs)
    from tqdm.auto import tqdm

    kwargs.setdefault("file", sys.stdout)  # tqdm's default is stderr, whose pink background reads as an error
    return tqdm(iterable, desc=desc, total=total, disable=disable, **kwargs)
