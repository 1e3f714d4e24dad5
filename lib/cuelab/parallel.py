"""Independent jobs (one small network each) run side by side on a CPU's cores.

A small network trains poorly on two threads: at batch 32 most of a step is Python and small kernels, and
a second intra-op thread buys ~20 % (measured: the global_shape CNN trains in 13.9 s on one thread, 10.7 s
on two). Two processes with one thread each train two networks in the time of ~1.2 networks. `map_jobs`
runs a list of jobs that way and returns their results in job order, whatever order they finish in.

Workers are forked (Linux): a fork costs milliseconds, where a spawned worker re-imports torch and Lightning
(~10 s of CPU on this project's CI machine) and re-runs a script's main module. Each worker sets one intra-op
thread before its first job, so no OpenMP pool inherited from the parent is ever used. Elsewhere (macOS,
Windows) workers are spawned, and a script that calls map_jobs needs the `if __name__ == "__main__":` guard.

Determinism: a job seeds itself, so its result does not depend on which worker runs it or on the number of
workers; it does depend on the thread count, and every pooled job runs on one thread. `workers=1` runs the
jobs in this process, on this process's threads (what a GPU wants).

Inside a Jupyter kernel a forked worker starts as a copy of the kernel: its sys.stdout and sys.stderr are the
kernel's ZMQ-backed streams (whose locks another thread may hold at the fork), its atexit and display hooks are the
kernel's. Each worker therefore detaches first: its standard streams become plain files on the process's own file
descriptors, the display and exception hooks and the atexit handlers are reset, and garbage inherited from the
kernel is never collected in the worker (the parent freezes it, gc.freeze, while it forks), so no inherited
finalizer runs there; multiprocessing ends a forked worker with os._exit. What a job prints is captured in the worker
and printed here, in the calling cell, when the job comes back. (The kernel status JupyterLab shows is another
matter: see tests/test_jupyterlab.py and `make lab`.)
"""

from __future__ import annotations

import atexit
import gc
import io
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

import torch

from cuelab import progress as _progress
from cuelab.params import ParameterError


def cpu_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_workers(workers: int | str, n_jobs: int) -> int:
    """"auto": one worker per core on a CPU-only machine (at most one per job), 1 with a GPU; else the int given."""
    if workers == "auto":
        if torch.cuda.is_available():
            return 1
        return max(1, min(cpu_cores(), n_jobs))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError("workers", workers, "'auto' or an int ≥ 1")
    return workers


_SHARED: Any = None


def shared() -> Any:
    """The `shared` object of the map_jobs call this job belongs to (None when none was given)."""
    return _SHARED


def in_kernel() -> bool:
    """True when this process is a Jupyter (ipykernel) kernel: its stdout is a kernel stream."""
    return type(sys.stdout).__module__.startswith("ipykernel") or type(sys.stderr).__module__.startswith("ipykernel")


def _plain_stream(fd: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.FileIO(os.dup(fd), "w"), encoding="utf-8", errors="replace", line_buffering=True)


def _detach_from_kernel() -> None:
    """In a forked worker of a kernel: stop using anything of the kernel's (its streams, hooks, atexit handlers)."""
    old = {id(sys.stdout), id(sys.stderr)}
    sys.stdout, sys.stderr = _plain_stream(1), _plain_stream(2)
    sys.displayhook, sys.excepthook = sys.__displayhook__, sys.__excepthook__
    atexit._clear()  # the kernel's handlers (history, IOPub thread, ...) are not this process's
    for logger in [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger))]:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in old:
                handler.setStream(sys.stderr)


def _init_worker(value: Any, detach: bool) -> None:
    global _SHARED
    if detach:
        _detach_from_kernel()
    torch.set_num_threads(1)
    _SHARED = value


class _Captured:
    """A job's printed text (stdout, stderr), carried back with its result."""

    def __init__(self, out: str, err: str) -> None:
        self.out, self.err = out, err

    def replay(self) -> None:
        if self.out:
            sys.stdout.write(self.out)
            sys.stdout.flush()
        if self.err:
            sys.stderr.write(self.err)
            sys.stderr.flush()


def _run_captured(fn: Callable[..., Any], job: tuple) -> tuple[Any, _Captured]:
    """Run fn(*job) in a worker with its printed text captured: (result, text).

    A job that raises raises here with its text attached (as `_cuelab_text`), so the parent prints it first and
    the exception still carries the worker's traceback.
    """
    out, err = io.StringIO(), io.StringIO()
    real = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        result = fn(*job)
    except BaseException as exc:
        sys.stdout, sys.stderr = real
        try:
            exc._cuelab_text = _Captured(out.getvalue(), err.getvalue())
        except AttributeError:  # an exception type that takes no attributes: its text is lost
            pass
        raise
    finally:
        sys.stdout, sys.stderr = real
    return result, _Captured(out.getvalue(), err.getvalue())


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods and sys.platform.startswith("linux") else "spawn")


def map_jobs(
    fn: Callable[..., Any],
    jobs: Sequence[tuple],
    *,
    workers: int | str = "auto",
    desc: str = "jobs",
    progress: bool = True,
    shared: Any = None,
) -> list[Any]:
    """[fn(*job) for job in jobs], on `workers` processes (see the module's text); results in job order.

    fn and the jobs' arguments must pickle (fn a module-level function): each job's arguments are sent to
    its worker. `shared` (large data every job reads, e.g. a data set) is not: jobs read it with
    cuelab.parallel.shared(); a forked worker inherits it without a copy, a spawned one receives it once.
    A job that raises stops the map and re-raises its exception here.
    """
    global _SHARED
    n = resolve_workers(workers, len(jobs))
    if n == 1 or len(jobs) <= 1:
        before, _SHARED = _SHARED, shared
        try:
            return [fn(*job) for job in _progress.bar(jobs, desc=desc, disable=not progress)]
        finally:
            _SHARED = before
    context = _context()
    forked = context.get_start_method() == "fork"
    kernel = in_kernel()
    results: list[Any] = [None] * len(jobs)
    frozen = forked
    if frozen:
        gc.freeze()  # the workers never collect (nor run finalizers of) what they inherit
    try:
        with ProcessPoolExecutor(n, mp_context=context, initializer=_init_worker, initargs=(shared, forked and kernel)) as pool:
            if kernel:
                futures: dict[Future, int] = {pool.submit(_run_captured, fn, job): i for i, job in enumerate(jobs)}
            else:
                futures = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
            if frozen:
                gc.unfreeze()  # every worker is forked at the first submit (fork context)
                frozen = False
            try:
                for fut in _progress.bar(as_completed(futures), total=len(futures), desc=f"{desc} ({n} processes)",
                                         disable=not progress):
                    try:
                        value = fut.result()
                    except BaseException as exc:
                        text = getattr(exc, "_cuelab_text", None)
                        if isinstance(text, _Captured):
                            text.replay()
                        raise
                    if kernel:
                        value, text = value
                        text.replay()
                    results[futures[fut]] = value
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        if frozen:
            gc.unfreeze()
    return results
