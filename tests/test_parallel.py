"""cuelab.parallel: jobs on worker processes come back in job order, errors surface, bad `workers` is named."""

import pytest
import torch

from cuelab import parallel


def _job(seed: int, n: int) -> tuple[int, float, int]:
    torch.manual_seed(seed)
    return seed, float(torch.randn(n).sum()), torch.get_num_threads()


def _fails(x: int) -> int:
    if x == 2:
        raise ValueError("job 2 failed")
    return x


def test_results_in_job_order_and_equal_to_serial():
    jobs = [(s, 1000) for s in (5, 1, 4, 2, 3)]
    pooled = parallel.map_jobs(_job, jobs, workers=2, progress=False)
    serial = parallel.map_jobs(_job, jobs, workers=1, progress=False)
    assert [r[0] for r in pooled] == [5, 1, 4, 2, 3]
    assert [r[1] for r in pooled] == [r[1] for r in serial]
    assert all(r[2] == 1 for r in pooled)  # every pooled job runs on one intra-op thread


def test_a_failing_job_raises_here():
    with pytest.raises(ValueError, match="job 2 failed"):
        parallel.map_jobs(_fails, [(i,) for i in range(4)], workers=2, progress=False)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True])
def test_bad_workers_is_named(bad):
    with pytest.raises(ValueError, match="workers must be 'auto' or an int"):
        parallel.resolve_workers(bad, 4)


def test_auto_is_at_most_one_per_job():
    assert parallel.resolve_workers("auto", 1) == 1
    assert 1 <= parallel.resolve_workers("auto", 100) <= parallel.cpu_cores()


def _read_shared(i: int) -> int:
    return parallel.shared()["base"] + i


def test_shared_data_reaches_every_job_serial_and_pooled():
    for workers in (1, 2):
        assert parallel.map_jobs(_read_shared, [(i,) for i in range(4)], workers=workers, progress=False,
                                 shared={"base": 100}) == [100, 101, 102, 103]
    assert parallel.shared() is None  # the serial path restores it
