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
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

import torch
from tqdm.auto import tqdm

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


def _init_worker(value: Any) -> None:
    global _SHARED
    torch.set_num_threads(1)
    _SHARED = value


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
            return [fn(*job) for job in tqdm(jobs, desc=desc, disable=not progress)]
        finally:
            _SHARED = before
    results: list[Any] = [None] * len(jobs)
    with ProcessPoolExecutor(n, mp_context=_context(), initializer=_init_worker, initargs=(shared,)) as pool:
        futures: dict[Future, int] = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
        try:
            for fut in tqdm(as_completed(futures), total=len(futures), desc=f"{desc} ({n} processes)",
                            disable=not progress):
                results[futures[fut]] = fut.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return results
