"""The Gram-space GD engine gives the reference (torch SGD under Lightning) iterates, outputs and measurements."""

import time

import numpy as np
import pytest
import torch

from cuelab.data.xor import XorDataModule, XorSpec
from cuelab.experiments import xor_grokking as X
from cuelab.methods.gram_gd import GramProblem, gram_gd, outputs
from cuelab.models.two_layer import TwoLayerReLU
from cuelab.seeding import generator

SMALL = XorSpec.from_snr(dim=3_000, n_train=60, snr=2.5, noise_rate=0.15)
SMALL_RUN = X.XorRunConfig(spec=SMALL, n_train=60, n_test=80, width=24, steps=30, snapshot_steps=(0, 1, 2, 15, 30))
COLUMNS = ["loss", "max_abs_output", "train_acc", "train_acc_flipped", "train_acc_unflipped", "test_acc",
           "linear_agreement", "random_linear_agreement", "alignment_ratio",
           *[f"test_acc_cluster{k}" for k in range(4)]]


def _assert_same_runs(gram, ref, rtol=1e-9):
    a, b = gram.trajectory, ref.trajectory
    assert a["step"].tolist() == b["step"].tolist()
    for col in COLUMNS:
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=rtol, atol=0, equal_nan=True, err_msg=col)
    assert sorted(gram.projections) == sorted(ref.projections)
    for s in gram.projections:
        pa, pb = gram.projections[s], ref.projections[s]
        assert (pa["sign"] == pb["sign"]).all()
        np.testing.assert_allclose(pa[["proj_mu1", "proj_mu2"]].to_numpy(), pb[["proj_mu1", "proj_mu2"]].to_numpy(),
                                   rtol=rtol, atol=0)


@pytest.mark.parametrize("step_size", [1e-12, 1e-15])
def test_engine_matches_reference_over_30_steps(step_size):
    config = SMALL_RUN.with_(step_size=step_size)
    gram = X.run_xor(config, seed=3, keep_model=True)
    ref = X.run_xor(config.with_(engine="lightning"), seed=3, keep_model=True)
    _assert_same_runs(gram, ref)
    # the weights themselves: W_T = W_0 + C_T X against the SGD iterate
    torch.testing.assert_close(gram.model.weight, ref.model.weight, rtol=1e-9, atol=0)
    # the run does something: it fits the noisy labels and moves the outputs from ~1e-27 to ~1e-10
    assert gram.trajectory.set_index("step").loc[30, "train_acc"] == 1.0


def test_engine_matches_the_hand_written_gd_update():
    data = XorDataModule(SMALL, n_train=40, n_test=10, seed=0)
    net = TwoLayerReLU(SMALL.dim, 8, init_std=1e-15, generator=generator(1))
    x, y = data.train.x, data.train.y.double()
    w = net.weight.detach().clone()
    alpha = 1e-12
    for _ in range(5):  # plain GD on W, written out
        pre = x @ w.T
        g = -(y * torch.sigmoid(-y * (torch.relu(pre) @ net.a))) / len(y)
        w = w - alpha * ((g[:, None] * (pre > 0).double()) * net.a).T @ x
    problem = GramProblem.build(net.weight.detach(), net.a, x, data.train.y, readouts={"test": data.test.x})
    final = gram_gd(problem, alpha, 5)
    torch.testing.assert_close(net.weight.detach() + final.c @ x, w, rtol=1e-9, atol=0)
    torch.testing.assert_close(outputs(problem.readout("test", final.c), problem.a), torch.relu(data.test.x @ w.T) @ net.a,
                               rtol=1e-10, atol=0)


def test_engine_records_only_the_asked_steps():
    run = X.run_xor(SMALL_RUN.with_(steps=5, record_steps=(2,), snapshot_steps=(3,)), seed=0)
    assert run.trajectory["step"].tolist() == [0, 2, 3, 5] and sorted(run.projections) == [3]
    assert list(run.test_plane.columns) == ["u", "v", "y_clean", "cluster"] and len(run.test_plane) == 80


def test_engine_parameter_is_checked():
    with pytest.raises(ValueError, match="engine"):
        SMALL_RUN.with_(engine="adam")


def test_engine_matches_reference_at_paper_size():  # ~8 s on 2 idle cores
    # one seed at p = 40,000, n = 200, m = 1,000 for 3 steps (the reference costs ~1–3 s a step on 2 cores)
    spec = XorSpec.from_snr(dim=40_000, n_train=200, snr=2.5, noise_rate=0.05)
    config = X.XorRunConfig(spec=spec, n_train=200, n_test=200, width=1_000, steps=3, snapshot_steps=(1, 3))
    start = time.perf_counter()
    gram = X.run_xor(config, seed=0)
    ref = X.run_xor(config.with_(engine="lightning"), seed=0)
    _assert_same_runs(gram, ref)
    assert gram.trajectory.set_index("step").loc[1, "train_acc"] == 1.0
    assert time.perf_counter() - start < 60


def test_engine_reuses_a_seed_basis_across_snr_and_noise_rate():
    # the η × SNR sweep assembles each point from one seed's noise products: it must equal a fresh reference run
    X.run_xor(SMALL_RUN.with_(steps=2), seed=4)  # fills the cache with this seed's basis
    other = XorSpec.from_snr(dim=SMALL.dim, n_train=60, snr=3.5, noise_rate=0.3)
    config = SMALL_RUN.with_(spec=other, steps=8, snapshot_steps=(8,))
    _assert_same_runs(X.run_xor(config, seed=4), X.run_xor(config.with_(engine="lightning"), seed=4))
    flipped = X.run_xor(config.with_(steps=1), seed=4)
    assert flipped.trajectory["train_acc_flipped"].notna().all()


def _params(**over):
    return dict(steps=30, scaling_steps=10, delayed_steps=3000, delayed_chance_step=50, n_seeds=20,
                delayed_seeds=5, phase_seeds=3) | over


def test_study_parameters_name_both_parameters():
    X.check_study_parameters(**_params())
    with pytest.raises(X.ParameterError, match=r"steps=3 .*scaling_steps \(= 10\)"):
        X.check_study_parameters(**_params(steps=3))
    with pytest.raises(X.ParameterError, match=r"delayed_chance_step=500 .*delayed_steps \(= 400\)"):
        X.check_study_parameters(**_params(delayed_steps=400, delayed_chance_step=500))
    with pytest.raises(X.ParameterError, match="phase_seeds"):
        X.check_study_parameters(**_params(phase_seeds=0))


def test_study_config_builds_the_notebooks_runs_from_its_parameters():
    params = dict(seed=3, n_seeds=4, dim=2_000, n_train=60, n_test=50, width=16, noise_rate=0.1, snr=2.5,
                  init_std=1e-15, step_size=1e-12, steps=12, scaling_steps=5, delayed_step_size=1e-16,
                  delayed_steps=700, delayed_seeds=2, delayed_chance_step=50, phase_seeds=2)
    study = X.study_config(**params, paper_steps=[400, 1090])
    assert study.seeds == [3, 4, 5, 6] and study.delayed_seeds == [3, 4] and study.phase_seeds == [3, 4]
    assert study.main.steps == 12 and study.main.snapshot_steps == tuple(range(13))
    assert study.scaling.step_size == pytest.approx(1e-13) and study.scaling.steps == 50
    assert set(range(1, 6)) | {10, 50} <= set(study.scaling.record_steps)
    rec = study.delayed.record_steps
    assert study.delayed.step_size == 1e-16 and rec[-1] == 700 and 400 in rec and 1090 not in rec
    assert set(range(101)) <= set(rec) and 105 in rec and 103 not in rec and 510 in rec and 505 not in rec
    assert study.fig4_steps == [0, 50, 500, 700]
    assert study.spec.mu_norm == pytest.approx(2.5 * (2_000 / 60) ** 0.5)
    with pytest.raises(X.ParameterError, match="steps"):
        X.study_config(**(params | dict(steps=3)))


def test_projection_table_stacks_the_kept_projections():
    runs = X.run_seeds(SMALL_RUN.with_(steps=3, snapshot_steps=(0, 1, 3)), [0, 1], progress=False)
    table = X.projection_table(runs, {1, 3})
    assert sorted(table["step"].unique()) == [1, 3] and sorted(table["seed"].unique()) == [0, 1]
    assert len(table) == 2 * 2 * SMALL_RUN.width and list(table.columns) == ["seed", "step", "proj_mu1", "proj_mu2", "sign"]
