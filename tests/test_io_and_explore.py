"""Atomic writes, self-healing caches and the explorer's headless still figure."""

import numpy as np
import pytest

from cuelab import explore, io


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "a.json"
    io.atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary left behind


def test_a_truncated_cache_is_rebuilt_with_a_warning(tmp_path):
    path = tmp_path / "render.npy"
    built = []

    def build():
        built.append(1)
        return np.arange(1000, dtype=np.float32)

    def save(p, value):
        np.save(p, value)

    load = lambda p: np.load(p)  # noqa: E731
    first = io.cached(path, load, build, save)
    path.write_bytes(path.read_bytes()[:300])  # what an interrupted in-place write leaves
    with pytest.warns(RuntimeWarning, match="could not be read"):
        again = io.cached(path, load, build, save)
    assert np.array_equal(first, again) and len(built) == 2
    assert np.array_equal(io.cached(path, load, build, save), first) and len(built) == 2


def test_explorer_headless_draws_once_with_the_still_values(monkeypatch):
    monkeypatch.setenv(explore.HEADLESS_ENV, "1")
    seen = []
    explore.explorer(lambda step, method: seen.append((step, method)), step=[0, 1, 2], method=["a", "b"], still={"step": 2})
    assert seen == [(2, "a")]
    with pytest.raises(ValueError, match="not controls"):
        explore.explorer(lambda step: None, step=[0], still={"stp": 1})
    with pytest.raises(ValueError, match="no options"):
        explore.explorer(lambda step: None, step=[])


# --- cuelab.progress: one plain stdout line when headless, a live bar on stdout otherwise (issue 29) ----------------

def test_headless_progress_is_one_stdout_line_at_the_end(monkeypatch, capsys):
    from cuelab import progress

    monkeypatch.setenv(explore.HEADLESS_ENV, "1")
    it = iter(progress.bar([1, 2, 3], desc="zoo (2 processes)"))
    assert next(it) == 1 and capsys.readouterr() == ("", "")  # nothing while it runs
    assert list(it) == [2, 3]
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("zoo (2 processes): 3/3 in ") and out.endswith(" s\n") and out.count("\n") == 1
    with progress.bar(total=4, desc="retrains") as bar:
        bar.update()
        bar.update(2)
    assert capsys.readouterr().out.startswith("retrains: 3/4 in ")
    with pytest.raises(RuntimeError):
        for _ in progress.bar(range(5), desc="broken"):
            raise RuntimeError("stop")
    assert capsys.readouterr().out.startswith("broken: 0/5 stopped after ")
    list(progress.bar(range(3), desc="quiet", disable=True))
    assert capsys.readouterr() == ("", "")


def test_live_progress_is_a_tqdm_bar_on_stdout(monkeypatch, capsys):
    from cuelab import progress

    monkeypatch.delenv(explore.HEADLESS_ENV, raising=False)
    assert list(progress.bar(range(3), desc="live")) == [0, 1, 2]
    out, err = capsys.readouterr()
    assert "live: 100%" in out and "3/3" in out and err == ""


def test_lightning_progress_bar_stays_off_when_headless(monkeypatch):
    from cuelab.training import make_trainer

    monkeypatch.setenv(explore.HEADLESS_ENV, "1")
    assert make_trainer(max_epochs=1, progress_bar=True).progress_bar_callback is None
    monkeypatch.setenv(explore.HEADLESS_ENV, "0")
    assert make_trainer(max_epochs=1, progress_bar=True).progress_bar_callback is not None
