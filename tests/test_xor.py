"""XOR clusters, the two-layer ReLU net and full-batch GD, checked with real numbers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cuelab.data.xor import XorDataModule, XorSpec, sample_xor
from cuelab.experiments import xor_grokking as X
from cuelab.methods.agreement import accuracy, one_step_linear_direction, sign_agreement
from cuelab.methods.alignment import alignment_ratio, plane_grid, plane_scores, project_neurons
from cuelab.models.two_layer import TwoLayerReLU
from cuelab.seeding import generator
from cuelab.training import Classifier, StepRecorder, fit

# The paper's regime at a test's size: p ≫ n (so one step memorises the noise), SNR 2.5, η = 0.15.
SMALL = XorSpec.from_snr(dim=8_000, n_train=200, snr=2.5, noise_rate=0.15)
SMALL_RUN = X.XorRunConfig(spec=SMALL, n_train=200, n_test=400, width=64, steps=12, snapshot_steps=(0, 1, 12))


def test_noise_rate_is_the_asked_rate():
    s = sample_xor(XorSpec(dim=2, mu_norm=3.0, noise_rate=0.2), n=40_000, seed=1)
    rate = s.flipped.double().mean().item()
    assert abs(rate - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 40_000)  # within 4 standard errors
    assert torch.equal(s.y[s.flipped], -s.y_clean[s.flipped])
    assert torch.equal(s.y[~s.flipped], s.y_clean[~s.flipped])


def test_cluster_geometry():
    spec = XorSpec(dim=50, mu_norm=4.0, noise_rate=0.0)
    mu1, mu2 = spec.means()
    assert float(mu1 @ mu2) == 0.0
    assert float(mu1.norm()) == pytest.approx(4.0) and float(mu2.norm()) == pytest.approx(4.0)
    s = sample_xor(spec, n=20_000, seed=0)
    centres = torch.stack([mu1, -mu1, mu2, -mu2])
    for k in range(4):
        members = s.x[s.cluster == k]
        assert members.shape[0] == pytest.approx(5_000, abs=300)  # clusters equally likely
        # mean within 5 standard errors of its centre in every coordinate; unit-variance noise
        assert (members.mean(0) - centres[k]).abs().max() < 5 / math.sqrt(members.shape[0])
        assert members.sub(centres[k]).var(0).mean().item() == pytest.approx(1.0, abs=0.03)
    assert torch.equal(s.y_clean, torch.where(s.cluster < 2, 1, -1))


def test_no_linear_classifier_beats_chance():
    spec = XorSpec(dim=10, mu_norm=3.0, noise_rate=0.0)
    train, test = sample_xor(spec, 20_000, seed=0), sample_xor(spec, 20_000, seed=1)
    design = torch.cat([train.x, torch.ones(len(train), 1, dtype=train.x.dtype)], 1)
    w = torch.linalg.lstsq(design, train.y_clean.double().unsqueeze(1)).solution
    scores = torch.cat([test.x, torch.ones(len(test), 1, dtype=test.x.dtype)], 1) @ w
    acc = accuracy(torch.where(scores.squeeze() > 0, 1, -1), test.y_clean)
    assert abs(acc - 0.5) < 0.02


def test_train_and_test_streams_differ_and_repeat():
    a, b = XorDataModule(SMALL, 60, 40, seed=5), XorDataModule(SMALL, 60, 40, seed=5)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.x, b.test.x)
    assert not torch.equal(a.train.x[:40], a.test.x)
    assert not torch.equal(a.train.x, XorDataModule(SMALL, 60, 40, seed=6).train.x)


def test_network_shape_init_and_fixed_second_layer():
    net = TwoLayerReLU(dim=1_000, width=400, init_std=1e-3, generator=generator(0))
    assert [name for name, _ in net.named_parameters()] == ["weight"]  # no biases, a_j not trained
    assert net.weight.std().item() == pytest.approx(1e-3, rel=0.01)
    assert net.a.abs().unique().tolist() == [pytest.approx(1 / math.sqrt(400))]
    assert (net.neuron_sign > 0).double().mean().item() == pytest.approx(0.5, abs=0.08)
    x = torch.randn(7, 1_000, dtype=torch.float64)
    manual = torch.relu(x @ net.weight.T) @ net.a
    assert torch.allclose(net(x), manual)


def test_one_gd_step_is_the_paper_update():
    data = XorDataModule(SMALL, n_train=60, n_test=10, seed=0)
    net = TwoLayerReLU(SMALL.dim, 16, init_std=1e-15, generator=generator(1))
    w0 = net.weight.detach().clone()
    alpha = 1e-12
    weights = {}
    recorder = StepRecorder(lambda m, step: weights.setdefault(step, m.model.weight.detach().clone()) is None or {})
    fit(Classifier(net, loss="logistic", lr=alpha), data, max_epochs=1, precision="64-true", callbacks=[recorder])
    # ∇_{w_j} L = −(1/n) Σ_i y_i σ(−y_i f(x_i)) a_j 1[⟨w_j, x_i⟩ > 0] x_i
    x, y = data.train.x, data.train.y.double()
    pre = x @ w0.T
    f = torch.relu(pre) @ net.a
    coeff = -(y * torch.sigmoid(-y * f)) / len(y)
    grad = ((coeff.unsqueeze(1) * (pre > 0).double()) * net.a).T @ x
    assert sorted(weights) == [0, 1]
    assert torch.equal(weights[0], w0)
    assert torch.allclose(weights[1], w0 - alpha * grad, rtol=1e-10, atol=0)


def test_one_step_fits_noisy_labels_then_grokking():
    runs = X.run_seeds(SMALL_RUN, range(3), progress=False)
    table = X.stack(runs)
    first = table[table.step == 1]
    # after one step from tiny init: every training label fitted, flipped ones included ...
    assert first["train_acc"].tolist() == [1.0, 1.0, 1.0]
    assert first["train_acc_flipped"].tolist() == [1.0, 1.0, 1.0]
    # ... the network agrees with the linear classifier sgn⟨Σ y_i x_i, x⟩ and tests near chance
    assert first["linear_agreement"].median() > 0.85
    assert first["test_acc"].between(0.4, 0.6).all()
    # later: test accuracy up, flipped labels still fitted, neurons aligned, loss still ≈ log 2
    last = table[table.step == 12]
    assert last["test_acc"].median() > 0.85
    assert last["train_acc_flipped"].tolist() == [1.0, 1.0, 1.0]
    assert last["alignment_ratio"].min() > 3
    assert (table["loss"] - math.log(2)).abs().max() < 1e-6
    assert sorted(runs[0].projections) == [0, 1, 12]


def test_recorder_sees_step_zero_and_every_step():
    run = X.run_xor(SMALL_RUN.with_(steps=5), seed=0)
    assert run.trajectory["step"].tolist() == [0, 1, 2, 3, 4, 5]
    sparse = X.run_xor(SMALL_RUN.with_(steps=5, record_steps=(2,), snapshot_steps=()), seed=0)
    assert sparse.trajectory["step"].tolist() == [0, 2, 5]  # 0 and T are always kept


def test_same_seed_same_numbers():
    a = X.run_xor(SMALL_RUN.with_(steps=4), seed=7)
    b = X.run_xor(SMALL_RUN.with_(steps=4), seed=7)
    c = X.run_xor(SMALL_RUN.with_(steps=4), seed=8)
    assert a.trajectory.equals(b.trajectory)
    assert not a.trajectory.equals(c.trajectory)


def test_alignment_ratio_and_projections():
    mu1, mu2 = XorSpec(dim=20, mu_norm=5.0, noise_rate=0.0).means()
    signs = torch.tensor([1, 1, -1, -1])
    aligned = torch.stack([mu1, -mu1, mu2, -mu2]) + 0.01 * torch.randn(4, 20, generator=generator(0), dtype=torch.float64)
    assert alignment_ratio(aligned, signs, mu1, mu2) > 100
    crossed = torch.stack([mu2, -mu2, mu1, -mu1])
    assert alignment_ratio(crossed, signs, mu1, mu2) == pytest.approx(0.0)
    random = torch.randn(4_000, 20, generator=generator(1), dtype=torch.float64)
    rand_signs = torch.where(torch.arange(4_000) % 2 == 0, 1, -1)
    assert alignment_ratio(random, rand_signs, mu1, mu2) == pytest.approx(1.0, abs=0.1)
    proj = project_neurons(aligned, [mu1, mu2])
    assert proj[0, 0].item() == pytest.approx(5.0, abs=0.05) and proj[2, 1].item() == pytest.approx(5.0, abs=0.05)


def test_plane_grid_and_linear_helpers():
    mu1, mu2 = XorSpec(dim=6, mu_norm=2.0, noise_rate=0.0).means()
    uu, vv = plane_grid(extent=3.0, resolution=5)
    assert uu.shape == (5, 5) and float(uu.max()) == 3.0 and float(vv.min()) == -3.0
    # a model reading the first two coordinates sees exactly the grid, whatever the chunk size
    first_two = lambda x: 10 * x[:, 0] + x[:, 1]  # noqa: E731
    for chunk in (1, 7, 1024):
        assert torch.allclose(plane_scores(first_two, mu1, mu2, uu, vv, chunk=chunk), 10 * uu + vv)
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    assert torch.equal(one_step_linear_direction(x, torch.tensor([1, -1])), torch.tensor([-2.0, 3.0]))
    assert sign_agreement(torch.tensor([1.0, -2.0, 3.0]), torch.tensor([0.5, 1.0, 2.0])) == pytest.approx(2 / 3)
    assert math.isnan(accuracy(torch.tensor([1]), torch.tensor([1]), torch.tensor([False])))


def test_helpers_over_seeds():
    steps = X.log_spaced_steps(400)
    assert steps[:11] == tuple(range(11)) and steps[-1] == 400 and list(steps) == sorted(set(steps))
    table = X.stack(X.run_seeds(SMALL_RUN.with_(steps=3, snapshot_steps=()), [0, 1], progress=False))
    s = X.summarise(table, "train_acc")
    assert s.loc[1, "median"] == 1.0 and s.loc[0, "max"] <= 1.0
    assert X.at_step(table, "test_acc", 3).index.tolist() == [0, 1]
    curve = s["median"]
    assert X.first_step_reaching(curve, 1.0) == 1 and X.first_step_reaching(curve, 2.0) is None
    with pytest.raises(KeyError, match="step 99"):
        X.at_step(table, "test_acc", 99)


def test_sweep_has_a_row_per_point_and_seed():
    base = SMALL_RUN.with_(steps=2, snapshot_steps=())
    out = X.sweep(base, {"noise_rate": [0.0, 0.2], "snr": [2.5]}, seeds=[0, 1])
    assert len(out) == 4 and set(out["noise_rate"]) == {0.0, 0.2}
    assert (out["step"] == 2).all()
    assert out.loc[out.noise_rate == 0.0, "train_acc_flipped"].isna().all()  # no flipped points at η = 0
