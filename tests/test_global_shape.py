"""DiST scorer, controls, tile-shuffle substitute, release loader and shape × texture data, with real numbers."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial import distance

from cuelab.data import dist as D
from cuelab.data.shapetex import (
    REGIMES,
    ShapeTexSpec,
    apply_gutters,
    cue_conflict,
    sample_regime,
    shape_bias,
)
from cuelab.methods import oddoneout as O
from cuelab.models import SmallViT
from cuelab.params import ParameterError
from cuelab.seeding import generator

# --------------------------------------------------------------------------- the scorer


def _eval_py_choice(triplet: np.ndarray) -> int:
    """The authors' rule written out with scipy, one triplet at a time (the reference the scorer must match)."""
    z = [(f - f.mean()) / f.std() for f in triplet]
    d = np.array([[distance.cosine(z[i], z[j]) if i != j else 0.0 for j in range(3)] for i in range(3)])
    return int(np.argmax([d[i, np.arange(3) != i].mean() for i in range(3)]))


def test_scorer_matches_the_authors_rule_and_the_closest_pair_rule():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(500, 3, 40)) + rng.normal(size=(500, 1, 40))  # correlated, as real features are
    chosen = np.argmax(O.oddity_scores(feats), axis=1)
    assert np.array_equal(chosen, [_eval_py_choice(t) for t in feats])
    assert np.array_equal(chosen, O.closest_pair_odd(feats))
    # argmax lands on the original about a third of the time for exchangeable random features
    assert abs(O.score_features(feats, "first").accuracy - 1 / 3) < 0.06


def test_identical_distractors_score_100_percent_under_every_policy():
    rng = np.random.default_rng(1)
    original, distractor = rng.normal(size=(200, 1, 30)), rng.normal(size=(200, 1, 30))
    feats = np.concatenate([original, distractor, distractor], axis=1)
    for policy in O.TIE_POLICIES:
        s = O.score_features(feats, policy)
        assert s.accuracy == 1.0 and s.ties == 0 and (s.ci_low, s.ci_high) == (1.0, 1.0)


def test_constant_features_are_correct_under_the_paper_rule_and_chance_under_fractional():
    feats = np.ones((300, 3, 16)) * np.arange(1, 301)[:, None, None]  # z-score: 0/0 = NaN, as in eval.py
    assert np.isnan(O.oddity_scores(feats)).all()
    assert O.score_features(feats, "first").accuracy == 1.0
    assert O.score_features(feats, "fractional").accuracy == pytest.approx(1 / 3, abs=1e-12)
    assert abs(O.score_features(feats, "random", seed=3).accuracy - 1 / 3) < 0.08
    assert O.score_features(feats, "fractional").ties == 300


def test_exact_ties_go_to_the_original_only_under_the_paper_rule():
    rng = np.random.default_rng(2)
    same = np.repeat(rng.normal(size=(100, 1, 20)), 3, axis=1)  # three identical, non-constant vectors
    assert O.score_features(same, "first").accuracy == 1.0
    assert O.score_features(same, "fractional").accuracy == pytest.approx(1 / 3)
    # a two-way tie at the top between the original and one distractor: half the credit
    scores = np.array([[0.5, 0.5, 0.1], [0.2, 0.5, 0.5]])
    assert np.allclose(O.credit(scores, "fractional"), [0.5, 0.0])
    assert np.allclose(O.credit(scores, "first"), [1.0, 0.0])


def test_scores_ignore_offset_and_scale_of_each_vector():
    rng = np.random.default_rng(4)
    feats = rng.normal(size=(50, 3, 12))
    moved = feats * rng.uniform(0.5, 3, size=(50, 3, 1)) + rng.normal(size=(50, 3, 1))
    assert np.allclose(O.oddity_scores(feats), O.oddity_scores(moved))


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(5)
    small, large = ((rng.random(n) < 0.7).astype(float) for n in (100, 2500))
    lo_s, hi_s = O.bootstrap_ci(small, seed=0)
    lo_l, hi_l = O.bootstrap_ci(large, seed=0)
    assert lo_s <= small.mean() <= hi_s and lo_l <= large.mean() <= hi_l
    assert (hi_l - lo_l) < 0.5 * (hi_s - lo_s)  # width ∝ 1/√n: 5× more data, ~0.2× the width
    assert hi_l - lo_l == pytest.approx(2 * 1.96 * math.sqrt(0.7 * 0.3 / 2500), rel=0.2)


def test_bad_tie_policy_names_the_parameter():
    with pytest.raises(ParameterError, match="tie_policy='argmax'.*'first', 'fractional', 'random'"):
        O.credit(np.zeros((1, 3)), "argmax")


# --------------------------------------------------------------------------- the substitute


def test_pairwise_derangements_form_a_latin_rectangle():
    g = generator(0)
    idx = torch.arange(16)
    for _ in range(200):
        a, b = D.pairwise_derangements(16, g)
        assert sorted(a.tolist()) == list(range(16)) and sorted(b.tolist()) == list(range(16))
        assert not (a == idx).any() and not (b == idx).any() and not (a == b).any()
    with pytest.raises(ParameterError, match="n_tiles"):
        D.pairwise_derangements(2, g)


def test_shuffle_tiles_moves_whole_tiles():
    x = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16)
    perm = torch.tensor([3, 0, 1, 2])  # position 0 receives tile 3 (bottom right), …
    y = D.shuffle_tiles(x, perm, 8)
    assert torch.equal(y[:, :, :8, :8], x[:, :, 8:, 8:])
    assert torch.equal(y[:, :, :8, 8:], x[:, :, :8, :8])
    inverse = torch.argsort(perm)
    assert torch.equal(D.shuffle_tiles(y, inverse, 8), x)


def test_substitute_histograms_are_identical_within_every_triplet():
    t = D.make_substitute(60, seed=3)
    assert t.images.shape == (60, 3, 3, 32, 32)
    # the same pixels, only moved
    flat = t.images.flatten(2).sort(dim=2).values
    assert torch.equal(flat[:, 0], flat[:, 1]) and torch.equal(flat[:, 0], flat[:, 2])
    for name in ("colour histogram", "|Laplacian| histogram"):
        f = O.control_features(t.images, [name])[name]
        assert torch.equal(f[:, 0], f[:, 1]) and torch.equal(f[:, 0], f[:, 2]), name
    # … so the controls sit at chance (fractional ties) and at 100% under the paper's rule
    scores = O.score_controls(t.images, "fractional", controls=["colour histogram", "|Laplacian| histogram"])
    assert all(s.accuracy == pytest.approx(1 / 3) for s in scores.values())
    assert O.score_controls(t.images, "first", controls=["colour histogram"])["colour histogram"].accuracy == 1.0
    # the shuffles really change the layout
    assert (t.images[:, 0] - t.images[:, 1]).abs().amax(dim=(1, 2, 3)).min() > 0.1


def test_pixel_layout_control_is_at_chance_on_the_substitute():
    t = D.make_substitute(1500, seed=4)
    acc = O.score_controls(t.images, "fractional", controls=["8×8 pixel layout"])["8×8 pixel layout"].accuracy
    assert abs(acc - 1 / 3) < 3.5 * math.sqrt(2 / 9 / 1500)  # exchangeable triplets: within 3.5 standard errors


def test_vit_without_position_gives_identical_pooled_features():
    torch.manual_seed(0)
    t = D.make_substitute(8, seed=5)
    blind = SmallViT(32, 8, 3, 8, dim=32, depth=2, heads=4, positional=False).eval()
    seeing = SmallViT(32, 8, 3, 8, dim=32, depth=2, heads=4, positional=True).eval()
    fb = O.model_features(blind, t.images)
    assert torch.allclose(fb[:, 0], fb[:, 1], atol=1e-5) and torch.allclose(fb[:, 0], fb[:, 2], atol=1e-5)
    assert O.score_features(fb, "fractional").accuracy == pytest.approx(1 / 3)
    fs = O.model_features(seeing, t.images)
    assert (fs[:, 0] - fs[:, 1]).abs().max() > 1e-3


# --------------------------------------------------------------------------- the official release


def _fake_release(root, stems, *, skip=()):
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, suffix in (("original", ".JPEG"), ("set1", ".jpg"), ("set2", ".jpg")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for s in stems:
            if (folder, s) in skip:
                continue
            Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(root / folder / f"{s}{suffix}")


def test_release_pairs_by_stem_and_loads_the_original_first(tmp_path):
    stems = [f"ILSVRC2012_val_{i:08d}" for i in (7, 3, 12)]
    _fake_release(tmp_path, stems)
    triplets = D.find_release(tmp_path, expected=3)
    assert [t.stem for t in triplets] == sorted(stems)
    assert triplets[0].original.name == "ILSVRC2012_val_00000003.JPEG"
    assert [p.parent.name for p in triplets[0].paths] == ["original", "set1", "set2"]
    item = D.ReleaseDataset(triplets)[0]
    assert item.shape == (3, 3, 224, 224) and 0 <= float(item.min()) and float(item.max()) <= 1
    assert len(D.find_release(tmp_path, limit=2, expected=3)) == 2


def test_release_rejects_incomplete_or_missing_folders(tmp_path):
    stems = ["a1", "a2", "a3"]
    _fake_release(tmp_path, stems, skip={("set2", "a2")})
    with pytest.raises(ValueError, match="incomplete DiST release.*original/: 1 without partners, e.g. a2"):
        D.find_release(tmp_path, expected=3)
    assert [t.stem for t in D.find_release(tmp_path, limit=2)] == ["a1", "a3"]  # an explicit subset skips it
    with pytest.raises(ValueError, match="found 2 complete triplets, the DiST release has 2400; pass limit=2"):
        _fake_release(tmp_path / "two", ["b1", "b2"])
        D.find_release(tmp_path / "two")
    with pytest.raises(ParameterError, match="dist_root=.*missing: set1/, set2/"):
        (tmp_path / "only" / "original").mkdir(parents=True)
        D.find_release(tmp_path / "only")
    with pytest.raises(ParameterError, match="dist_root=None is not accepted"):
        D.find_release(None)


# --------------------------------------------------------------------------- shape × texture data


def test_regimes_tie_or_free_the_texture():
    tc = sample_regime(2000, "texture-correlated", 0)
    assert torch.equal(tc.texture, tc.shape) and torch.equal(tc.y, tc.shape)
    sr = sample_regime(4000, "style-randomised", 0)
    agree = float((sr.texture == sr.shape).double().mean())
    assert abs(agree - 1 / 8) < 0.03  # independent: texture = shape only by chance
    half = sample_regime(4000, "texture-correlated", 1, correlation=0.5)
    assert abs(float((half.texture == half.shape).double().mean()) - (0.5 + 0.5 / 8)) < 0.03
    assert torch.equal(sample_regime(50, "style-randomised", 9).x, sample_regime(50, "style-randomised", 9).x)
    with pytest.raises(ParameterError, match="regime='stylized'"):
        sample_regime(5, "stylized", 0)


def test_every_image_carries_the_gutter_grid():
    spec = ShapeTexSpec()
    x = sample_regime(40, REGIMES[1], 2, spec).x
    ring = apply_gutters(torch.zeros(1, 1, 32, 32), 8, 1, 1.0)[0, 0].bool()
    assert int(ring.sum()) == 16 * (64 - 36)  # each 8×8 tile loses its 6×6 interior
    assert (x[..., ring] == spec.gutter_value).all()
    assert x.min() >= 0 and x.max() <= 1


def test_shape_bias_formula_and_cue_conflict_set():
    cc = cue_conflict(3000, 0)
    assert not (cc.shape == cc.texture).any()
    offsets = torch.bincount((cc.texture - cc.shape) % 8, minlength=8).double() / 3000
    assert offsets[0] == 0 and (offsets[1:] - 1 / 7).abs().max() < 0.03  # texture uniform over the other classes
    shape, texture = torch.tensor([0, 1, 2, 3, 4]), torch.tensor([1, 2, 3, 4, 5])
    pred = torch.tensor([0, 1, 2, 4, 7])  # 3 shape, 1 texture, 1 neither
    sb = shape_bias(pred, shape, texture)
    assert sb.shape_bias == pytest.approx(0.75) and sb.shape_fraction == pytest.approx(0.6)
    assert sb.texture_fraction == pytest.approx(0.2)
    assert shape_bias(texture, shape, texture).shape_bias == 0.0
    assert math.isnan(shape_bias(torch.full((5,), 7), shape, texture).shape_bias)


def test_datamodule_serves_a_regime_with_disjoint_train_and_validation_streams():
    from cuelab.data.shapetex import ShapeTexDataModule

    dm = ShapeTexDataModule("style-randomised", 64, 32, seed=1, batch_size=16)
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (16, 3, 32, 32) and y.dtype == torch.int64 and int(y.max()) < 8
    assert len(dm.val) == 32 and not torch.equal(dm.train.x[:32], dm.val.x)
