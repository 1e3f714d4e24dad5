"""Colour-dSprites renderer, the WCST-ML protocol and UTKFace name parsing, checked with real numbers."""

import numpy as np
import pandas as pd
import pytest
import torch

from cuelab.data import dsprites as D
from cuelab.data.utkface import UTKFaceSource, parse_name
from cuelab.data.wcst import WCSTDataModule, balanced_bins, build_wcst, cue_levels, diagonal_mask
from cuelab.params import ParameterError

CUES = ("shape", "scale", "orientation", "color")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    import os

    old = os.environ.get("CUELAB_ROOT")
    os.environ["CUELAB_ROOT"] = str(tmp_path_factory.mktemp("root"))
    try:
        yield D.DSpritesSource(16, verbose=False)
    finally:
        if old is None:
            os.environ.pop("CUELAB_ROOT")
        else:
            os.environ["CUELAB_ROOT"] = old


@pytest.fixture(scope="module")
def wcst(source):
    return build_wcst(source.factors, source.kinds, source.images, CUES, n_diagonal=90, n_off_diagonal=60, seed=3)


def test_factor_grid_has_the_dsprites_sizes(source):
    f = source.factors
    assert len(f) == 3 * 737_280 == 2_211_840
    assert [f[c].nunique() for c in D.FACTORS] == [3, 3, 6, 40, 32, 32]
    assert np.allclose(D.SCALES, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert len(D.ORIENTATIONS) == 40 and D.ORIENTATIONS[0] == 0 and D.ORIENTATIONS[-1] < 2 * np.pi
    # the official npz orders latents with pos_y fastest: colour-0 rows map onto 0 … 737,279 in order
    rows = D.official_row(f.iloc[:737_280])
    assert np.array_equal(rows, np.arange(737_280))
    assert np.array_equal(D.row_of(f.iloc[[5, 1_000_000, 2_211_839]].to_numpy()), [5, 1_000_000, 2_211_839])


def test_render_shapes_sizes_and_symmetries():
    n = 6
    masks = D.render_masks(np.zeros(n, int), np.arange(6), np.zeros(n, int), np.full(n, 16), np.full(n, 16), 64)
    assert masks.shape == (6, 64, 64) and masks.dtype == np.uint8 and set(np.unique(masks)) <= {0, 1}
    area = masks.reshape(n, -1).sum(1)
    assert np.all(np.diff(area) > 0)                      # area grows with scale
    ratio = area[-1] / area[0]
    assert 3.0 < ratio < 5.0                              # (1 / 0.5)² = 4 up to pixelisation
    # a square turned by 90° (10 of 40 steps) and an ellipse by 180° (20 steps) give the same image
    sq = D.render_masks([0, 0], [5, 5], [3, 13], [10, 10], [20, 20], 64)
    el = D.render_masks([1, 1], [5, 5], [3, 23], [10, 10], [20, 20], 64)
    ht = D.render_masks([2, 2], [5, 5], [3, 23], [10, 10], [20, 20], 64)
    iou = lambda m: (m[0] & m[1]).sum() / (m[0] | m[1]).sum()
    assert iou(sq) > 0.9 and iou(el) > 0.9 and iou(ht) < 0.8   # the heart has no such symmetry
    # no pose is clipped at the border: a scale-1 square at 45° has the same area in a corner as in the centre
    assert D.MARGIN >= 0.8 * np.sqrt(2) * D.RADIUS
    corner = D.render_masks([0, 0, 0], [5, 5, 5], [5, 5, 5], [0, 31, 16], [0, 31, 16], 64).reshape(3, -1).sum(1)
    assert abs(int(corner[0]) - int(corner[2])) <= 0.05 * corner[2] and abs(int(corner[1]) - int(corner[2])) <= 0.05 * corner[2]


def test_colour_channels_and_range(source):
    rows = D.row_of(np.array([[c, 2, 5, 0, 16, 16] for c in range(3)]))
    x = source.images(rows)
    assert x.shape == (3, 3, 16, 16) and x.dtype == torch.float32
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    for c in range(3):
        on = x[c].flatten(1).sum(1)
        assert on[c] > 0 and on.sum() == on[c]            # only channel c lights up, sprite on black
    assert torch.equal(x[0, 0], x[1, 1]) and torch.equal(x[1, 1], x[2, 2])   # same sprite, different colour


def test_render_cache_and_determinism(source, tmp_path):
    rows = np.array([10, 5_000, 2_000_000])
    a = source.images(rows)
    assert len(list((D.data_dir() / "dsprites").glob("render-16px-*.npy"))) >= 1
    b = source.images(rows)                                     # from the cache
    c = D.DSpritesSource(16, cache=False, verbose=False).images(rows)
    assert torch.equal(a, b) and torch.equal(a, c)


def test_a_cut_short_render_cache_is_rebuilt_with_a_warning(source):
    rows = np.array([11, 6_000, 1_000_000, 5])
    before = set((D.data_dir() / "dsprites").glob("render-16px-*.npy"))
    first = source.images(rows)
    (path,) = set((D.data_dir() / "dsprites").glob("render-16px-*.npy")) - before  # this call's cache file
    path.write_bytes(path.read_bytes()[:200])                    # as an interrupted np.save leaves it
    with pytest.warns(RuntimeWarning, match="could not be read.*rebuilding"):
        again = source.images(rows)
    assert torch.equal(first, again)
    assert np.load(path).shape == (4, 16, 16)                     # rebuilt whole
    assert not list(path.parent.glob(".*.part*"))                 # no temporary file left behind


def test_data_dir_follows_cuelab_data(monkeypatch, tmp_path):
    monkeypatch.setenv("CUELAB_DATA", str(tmp_path / "cache"))
    assert D.data_dir() == (tmp_path / "cache").resolve() and (tmp_path / "cache").is_dir()


def test_dsprites_path_errors_name_the_parameter(tmp_path):
    with pytest.raises(ParameterError, match="dsprites_path"):
        D.DSpritesSource(32, dsprites_path=tmp_path / "missing.npz", verbose=False)
    bad = tmp_path / "bad.npz"
    np.savez(bad, imgs=np.zeros((4, 64, 64), np.uint8))
    with pytest.raises(ParameterError, match="dsprites_path"):
        D.DSpritesSource(32, dsprites_path=bad, verbose=False)


def test_balanced_bins_are_contiguous_and_balanced():
    b = balanced_bins(np.repeat(np.arange(40), 5), 3)
    assert np.bincount(b).tolist() == [65, 70, 65]            # 13 / 14 / 13 angles
    assert np.all(np.diff(b) >= 0)                             # contiguous in value order
    assert balanced_bins(np.repeat(np.arange(6), 2), 3).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    ages = np.array([1] * 30 + [2] * 5 + list(range(20, 85)))  # skewed, with a big tie at 1
    bins = balanced_bins(ages, 2)
    assert set(bins[ages == 1]) == {0}                          # ties never split
    assert abs(int((bins == 0).sum()) - int((bins == 1).sum())) <= 30
    with pytest.raises(ParameterError, match="n_levels"):
        balanced_bins(np.array([1, 1, 2]), 3)


def test_diagonal_set_has_every_cue_at_the_label(wcst):
    d = wcst.diagonal
    assert len(d) == 90 and np.bincount(d.labels).tolist() == [30, 30, 30]
    assert np.all(d.levels == d.labels[:, None])
    assert wcst.n_levels == 3


def test_off_diagonal_sets_exclude_the_diagonal_and_follow_their_cue(wcst, source):
    levels, rows, _ = cue_levels(source.factors, CUES, source.kinds)
    for k, c in enumerate(CUES):
        o = wcst.off_diagonal[c]
        assert len(o) == 60 and np.bincount(o.labels).tolist() == [20, 20, 20]
        assert not np.any(diagonal_mask(o.levels))
        assert np.array_equal(o.labels, o.levels[:, k])
        assert not set(o.rows) & set(wcst.diagonal.rows)
        # the stored levels are the cue levels of those rows
        assert np.array_equal(levels[o.rows][:, k], o.labels)
    # colour and shape are categorical: their level is the factor itself
    f = source.factors.iloc[wcst.off_diagonal["color"].rows]
    assert np.array_equal(f["color"].to_numpy(), wcst.off_diagonal["color"].labels)
    forced = wcst.forced("scale")
    assert len(forced) == 150 and np.array_equal(forced.labels, forced.levels[:, 1])
    x, y = wcst.tensors("forced:scale")
    assert x.shape == (150, 3, 16, 16) and torch.equal(y, torch.from_numpy(forced.labels))


def test_cue_forced_training_sets_are_disjoint_from_every_evaluation_set(source, wcst):
    evaluation = set(np.concatenate([s.rows for s in wcst.off_diagonal.values()]))
    for k, c in enumerate(CUES):
        train_off = wcst.forced_off[c]
        assert len(train_off) == 60 and not set(train_off.rows) & evaluation       # held out: never scored on
        assert not set(train_off.rows) & set(wcst.diagonal.rows)
        assert not np.any(diagonal_mask(train_off.levels)) and np.array_equal(train_off.labels, train_off.levels[:, k])
        assert set(wcst.forced(c).rows) == set(wcst.diagonal.rows) | set(train_off.rows)
    # the evaluation sets do not depend on how many forced-training images are drawn after them
    more = build_wcst(source.factors, source.kinds, source.images, CUES, n_diagonal=90, n_off_diagonal=60,
                      n_forced_off=120, seed=3)
    assert all(np.array_equal(more.off_diagonal[c].rows, wcst.off_diagonal[c].rows) for c in CUES)
    assert len(more.forced_off["color"]) == 120


def test_wcst_is_deterministic_under_its_seed(source, wcst):
    again = build_wcst(source.factors, source.kinds, source.images, CUES, n_diagonal=90, n_off_diagonal=60, seed=3)
    other = build_wcst(source.factors, source.kinds, source.images, CUES, n_diagonal=90, n_off_diagonal=60, seed=4)
    assert np.array_equal(again.diagonal.rows, wcst.diagonal.rows)
    assert np.array_equal(again.off_diagonal["orientation"].rows, wcst.off_diagonal["orientation"].rows)
    assert not np.array_equal(other.diagonal.rows, wcst.diagonal.rows)
    dm = WCSTDataModule(wcst, batch_size=32, seed=0, shuffle_labels=True)
    _, y = dm.train_tensors()
    assert sorted(y.tolist()) == sorted(wcst.diagonal.labels.tolist()) and not np.array_equal(y.numpy(), wcst.diagonal.labels)
    assert len(dm.val_dataloader()) == 4


def test_wcst_on_a_utkface_like_table():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"age": rng.integers(1, 90, 3000), "gender": rng.integers(0, 2, 3000), "race": rng.integers(0, 5, 3000)})
    kinds = {"age": "ordinal", "gender": "categorical", "race": "categorical"}
    w = build_wcst(f, kinds, lambda rows: torch.zeros(len(rows), 3, 4, 4), ("race", "gender", "age"),
                   n_diagonal=100, n_off_diagonal=80, categories={"race": [0, 1]}, seed=0)
    assert w.n_levels == 2
    assert set(f.loc[w.diagonal.rows, "race"]) <= {0, 1} and set(f.loc[w.off_diagonal["age"].rows, "race"]) <= {0, 1}
    assert np.array_equal(f.loc[w.off_diagonal["race"].rows, "race"].to_numpy(), w.off_diagonal["race"].labels)
    with pytest.raises(ParameterError, match="n_levels"):
        build_wcst(f, kinds, None, ("race", "gender"), n_diagonal=10, n_off_diagonal=10)   # 5 races vs L = 2
    with pytest.raises(ParameterError, match="cues"):
        build_wcst(f, kinds, None, ("race", "colour"), n_diagonal=10, n_off_diagonal=10)
    with pytest.raises(ParameterError, match="n_diagonal"):
        build_wcst(f, kinds, None, ("race", "gender", "age"), n_diagonal=2000, n_off_diagonal=10, categories={"race": [0, 1]})


GOOD = ["25_0_1_20170116174525125.jpg.chip.jpg", "1_1_4_20161221193016140.jpg", "116_0_0_20170120134921760.jpg.chip.jpg"]
MALFORMED = ["39_1_20170116174525125.jpg.chip.jpg",      # race missing (known in the release)
             "61_1_20170109142408075.jpg.chip.jpg",      # race missing (known in the release)
             "24_0_1_20170116220224657 .jpg.chip.jpg",   # stray space before the extension
             "30_2_0_20170116174525125.jpg",             # gender out of range
             "30_0_5_20170116174525125.jpg",             # race out of range
             "200_0_0_20170116174525125.jpg",            # age out of range
             "notes.jpg"]


def test_utkface_name_parsing():
    assert parse_name(GOOD[0]) == {"age": 25, "gender": 0, "race": 1}
    assert parse_name(GOOD[1]) == {"age": 1, "gender": 1, "race": 4}
    assert parse_name(GOOD[2])["age"] == 116
    assert all(parse_name(n) is None for n in MALFORMED)


def test_utkface_folder(tmp_path, capsys):
    from PIL import Image

    for i, name in enumerate(GOOD + MALFORMED):
        Image.new("RGB", (200, 200), (i * 20, 0, 0)).save(tmp_path / name, format="JPEG")
    src = UTKFaceSource(tmp_path, resolution=16)
    assert len(src.factors) == 3 and src.n_malformed == len(MALFORMED)
    assert f"{len(MALFORMED)} malformed" in capsys.readouterr().out
    x = src.images(np.array([0, 2]))
    assert x.shape == (2, 3, 16, 16) and 0 <= float(x.min()) and float(x.max()) <= 1
    with pytest.raises(ParameterError, match="utkface_dir"):
        UTKFaceSource(tmp_path / "nowhere")
