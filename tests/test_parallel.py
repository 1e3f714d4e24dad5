"""cuelab.parallel: jobs on worker processes come back in job order, errors surface, bad `workers` is named."""

import os
import sys

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


# --- inside a real Jupyter kernel (issue 29): workers must not disturb the kernel that forked them -------------------

KERNEL_JOBS = '''\
import os, sys, warnings
def job(i):
    print(f"job {i} printed in a worker: {os.getpid() != int(os.environ['PARENT_PID'])}")
    if i == 1:
        print(f"job {i} warns", file=sys.stderr)
    return i * i
def fails(i):
    print(f"job {i} ran")
    if i == 2:
        raise ValueError("job 2 failed")
    return i
'''


def _run_cell(client, code: str, timeout: float = 120) -> tuple[str, list[dict]]:
    import queue

    msg_id = client.execute(code)
    messages = []
    while True:
        try:
            msg = client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no iopub message for {timeout} s; so far: {messages}") from None
        messages.append(msg)
        if (msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == msg_id):
            return msg_id, messages


def _stream(messages, msg_id, name="stdout") -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream"
                   and m["content"]["name"] == name and m["parent_header"].get("msg_id") == msg_id)


def test_workers_in_a_real_kernel_keep_it_busy_and_their_output_in_the_cell(tmp_path):
    from jupyter_client import KernelManager

    (tmp_path / "kernel_jobs.py").write_text(KERNEL_JOBS)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "CUELAB_HEADLESS": "1"}
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env=env)
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        setup_id, msgs = _run_cell(client, "import os; os.environ['PARENT_PID'] = str(os.getpid())\n"
                                           "from cuelab import parallel; import kernel_jobs")
        assert not [m for m in msgs if m["msg_type"] == "error"], msgs
        for _ in range(2):  # a second pool in the same kernel behaves the same
            msg_id, msgs = _run_cell(client, "print(parallel.map_jobs(kernel_jobs.job, [(i,) for i in range(4)], "
                                             "workers=2, desc='probe'))")
            statuses = [(m["content"]["execution_state"], m["parent_header"].get("msg_id")) for m in msgs
                        if m["msg_type"] == "status"]
            # busy once at the start, idle once at the end, nothing from anyone in between
            assert statuses == [("busy", msg_id), ("idle", msg_id)], statuses
            assert all(m["parent_header"].get("msg_id") == msg_id for m in msgs), \
                [(m["msg_type"], m["parent_header"].get("msg_id")) for m in msgs]
            out = _stream(msgs, msg_id)
            assert all(f"job {i} printed in a worker: True" in out for i in range(4)), out
            assert "[0, 1, 4, 9]" in out and "probe (2 processes): 4/4 in" in out, out  # headless progress: stdout
            assert _stream(msgs, msg_id, "stderr") == "job 1 warns\n"
            assert not [m for m in msgs if m["msg_type"] == "error"]
        # a failing job raises in its own cell, after the text the jobs printed; the kernel lives on
        msg_id, msgs = _run_cell(client, "parallel.map_jobs(kernel_jobs.fails, [(i,) for i in range(4)], workers=2)")
        errors = [m for m in msgs if m["msg_type"] == "error"]
        assert len(errors) == 1 and errors[0]["content"]["evalue"] == "job 2 failed"
        assert errors[0]["parent_header"]["msg_id"] == msg_id and "job 2 ran" in _stream(msgs, msg_id)
        assert any("kernel_jobs.py" in line for line in errors[0]["content"]["traceback"])  # the worker's traceback
        msg_id, msgs = _run_cell(client, "print('next cell', 6 * 7)")
        assert _stream(msgs, msg_id) == "next cell 42\n" and km.is_alive()
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def _prints(i: int) -> int:
    print(f"out {i}")
    print(f"err {i}", file=sys.stderr)
    if i < 0:
        raise ValueError("negative")
    return i


def test_a_jobs_text_is_captured_and_replayed_in_order(capsys):
    assert not parallel.in_kernel()  # pytest's streams are not a kernel's
    value, text = parallel._run_captured(_prints, (3,))
    assert value == 3 and (text.out, text.err) == ("out 3\n", "err 3\n")
    with pytest.raises(ValueError, match="negative") as info:
        parallel._run_captured(_prints, (-1,))
    capsys.readouterr()
    info.value._cuelab_text.replay()
    assert capsys.readouterr() == ("out -1\n", "err -1\n")
