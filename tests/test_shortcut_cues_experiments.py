"""The shortcut-cues drivers on a tiny WCST: tables have the promised shape and the loops do what they say."""

import numpy as np
import pytest
import torch

from cuelab.data import dsprites as D
from cuelab.data.wcst import build_wcst
from cuelab.experiments import shortcut_cues as X
from cuelab.params import ParameterError

CUES = ("shape", "scale", "orientation", "color")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import os

    old = os.environ.get("CUELAB_ROOT")
    os.environ["CUELAB_ROOT"] = str(tmp_path_factory.mktemp("root"))
    src = D.DSpritesSource(16, verbose=False)
    w = build_wcst(src.factors, src.kinds, src.images, CUES, n_diagonal=150, n_off_diagonal=60, seed=0)
    yield src, w
    if old is None:
        os.environ.pop("CUELAB_ROOT")
    else:
        os.environ["CUELAB_ROOT"] = old


def test_config_checks_name_the_parameter():
    with pytest.raises(ParameterError, match="epochs"):
        X.TrainConfig(epochs=0)
    with pytest.raises(ParameterError, match="arch"):
        X.build_model("transformer", 16, 3)


def test_preference_runs_are_deterministic_and_find_colour(setup):
    src, w = setup
    cfg = X.TrainConfig(epochs=3, lr=3e-3, batch_size=32)
    a = X.preference_runs(w, ["mlp"], [0], cfg, resolution=16)
    b = X.preference_runs(w, ["mlp"], [0], cfg, resolution=16)
    assert list(a.columns) == ["arch", "seed", "epoch", "cue", "acc"]
    assert sorted(a["epoch"].unique()) == [0, 1, 2, 3] and set(a["cue"]) == set(CUES)
    assert a["acc"].tolist() == b["acc"].tolist()
    final = X.final_accuracy(a).loc[("mlp", 0)]
    assert final["color"] >= 0.9 and final.drop("color").max() <= 0.5
    chance = X.measured_chance(w, "mlp", cfg, seed=1, resolution=16)
    assert chance.drop("train", errors="ignore").between(0.1, 0.6).all()


def test_forced_solutions_stop_at_the_target(setup):
    src, w = setup
    models, info = X.forced_solutions(w, "mlp", X.TrainConfig(epochs=4, lr=3e-3, batch_size=32), target_acc=0.8, seed=0,
                                      resolution=16)
    assert set(models) == set(CUES) and list(info.columns)[:8] == [
        "cue", "epochs", "train_acc", "base_loss", "reached", "heldout_own_acc", "uses_cue", "follows"]
    col = info.set_index("cue").loc["color"]
    assert col["reached"] and col["train_acc"] >= 0.8 and col["epochs"] <= 4
    # held-out own-cue accuracy is measured on the evaluation set the model never trained on
    assert col["heldout_own_acc"] == col["acc:color"] and col["follows"] == "color" and col["uses_cue"] == (col["heldout_own_acc"] >= 0.9)
    sp = X.sphere_sweep({"color": models["color"]}, w, [0, 2], 2, n_points=50)
    assert sp.query("r == 0")["delta"].abs().max() < 1e-6 and (sp.query("r == 2")["delta"] > 0).all()


def test_compression_proxy_ranks_colour_variation_cheapest(setup):
    src, _ = setup
    comp = X.compression_proxy(src, CUES, 3, seed=0)
    assert len(comp) == 3 * 4 * 2
    mean = comp.groupby("cue")["bytes"].mean()
    assert mean["color"] < mean.drop("color").min()
    x, lv, L = X.probe_set(src, CUES, 64, seed=0)
    assert x.shape == (64, 3, 16, 16) and lv.shape == (64, 4) and L == 3


def test_full_profile_sets_only_known_parameters():
    import ast
    import inspect
    from pathlib import Path

    import nbformat
    import yaml

    root = Path(__file__).resolve().parents[1]
    nb = nbformat.read(root / "notebooks" / "shortcut_cues.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    names = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets}
    defaults = {}
    exec(cell.source, {}, defaults)
    for profile in ("full", "wcst4"):
        values = yaml.safe_load((root / "notebooks" / "profiles" / profile / "shortcut_cues.yaml").read_text())
        assert set(values) <= names, (profile, set(values) - names)
        params = defaults | values
        X.check_study_parameters(**{k: params[k] for k in inspect.signature(X.check_study_parameters).parameters})
        X.study_config(**{k: params[k] for k in inspect.signature(X.study_config).parameters})
    full = yaml.safe_load((root / "notebooks" / "profiles" / "full" / "shortcut_cues.yaml").read_text())
    assert isinstance(full["lr"], float) and isinstance(full["vit_lr"], float)
    assert full["hidden"] == [2048, 600, 300, 100]  # the authors' FFNet (src/models/ffnet.py)
    assert max(full["rerun_radii"]) == 200 and full["surface_span"] == 2.0 and full["surface_on"] == "diagonal"


def test_radius_rerun_retrains_a_perturbed_forced_solution(setup):
    src, w = setup
    cfg = X.TrainConfig(epochs=2, lr=3e-3, batch_size=32)
    models, _ = X.forced_solutions(w, "mlp", cfg, target_acc=0.99, seed=0, resolution=16)
    before = [p.detach().clone() for p in models["shape"].parameters()]
    t = X.radius_reruns({"shape": models["shape"]}, w, [1.0], cfg, seeds=[0], resolution=16)
    assert len(t) == 4 and set(t["cue"]) == set(CUES) and t["adopted"].nunique() == 1
    assert t["adopted"].iloc[0] == t.loc[t["acc"].idxmax(), "cue"]
    assert all(torch.equal(a, p) for a, p in zip(before, models["shape"].parameters()))   # the start model is untouched


def test_pooled_runs_equal_each_other_and_keep_the_serial_tables_shape(setup):
    src, w = setup
    cfg = X.TrainConfig(epochs=2, lr=3e-3, batch_size=32)
    a = X.preference_runs(w, ["mlp"], [0, 1], cfg, resolution=16, workers=2)
    b = X.preference_runs(w, ["mlp"], [0, 1], cfg, resolution=16, workers=2)
    serial = X.preference_runs(w, ["mlp"], [0, 1], cfg, resolution=16, workers=1)
    assert a["acc"].tolist() == b["acc"].tolist()  # same seed, same worker setting → same numbers
    assert a[["arch", "seed", "epoch", "cue"]].equals(serial[["arch", "seed", "epoch", "cue"]])
    models, info = X.forced_solutions(w, "mlp", cfg, target_acc=0.8, seed=0, resolution=16, workers=2)
    assert list(info["cue"]) == list(CUES) and set(models) == set(CUES)


def test_white_sprites_hide_colour_and_the_leave_one_out_uses_them_once_colour_is_dropped(setup):
    src, w = setup
    rows = w.diagonal.rows[:20]
    white = src.white_images(rows)
    assert white.shape == src.images(rows).shape and torch.equal(white[:, 0], white[:, 1]) and torch.equal(white[:, 1], white[:, 2])
    assert torch.equal(white.amax(1), src.images(rows).amax(1))  # the same sprite, every colour made white
    cfg = X.TrainConfig(epochs=1, lr=3e-3, batch_size=32)
    kw = dict(n_diagonal=90, n_off_diagonal=30, resolution=16, seed=3)
    loo, _ = X.leave_one_out(src, CUES, "color", ["mlp"], [0], cfg, sprites="white", **kw)
    x, _ = loo[0].tensors("diagonal")
    assert torch.equal(x[:, 0], x[:, 2])
    kept, _ = X.leave_one_out(src, CUES, "color", ["mlp"], [0], cfg, sprites="coloured", **kw)
    assert not torch.equal(kept[0].tensors("diagonal")[0][:, 0], kept[0].tensors("diagonal")[0][:, 2])
    with pytest.raises(ParameterError, match="sprites"):
        X.leave_one_out(src, CUES, "color", ["mlp"], [0], cfg, sprites="grey", **kw)


def test_authors_architectures_build_through_the_model_config():
    cfg = X.ModelConfig(resnet_head="avgpool8", vit_pool="cls", vit_mlp_ratio=4.0, vit_dim=48, vit_depth=1, vit_heads=6)
    x = torch.randn(2, 3, 64, 64)
    assert X.build_model("resnet", 64, 3, cfg).feature_dim == 256
    assert X.build_model("vit", 64, 3, cfg, seed=0)(x).shape == (2, 3)
    with pytest.raises(ParameterError, match="vit_pool"):
        X.ModelConfig(vit_pool="max")
