"""The theory experiment: v1's SGD recipe, the deduplicated trainer against plain mini-batch SGD, the verdicts."""

import copy

import pytest
import torch
import torch.nn.functional as F

from cuelab.data.blockmnist import SimplifiedSpec, sample_simplified
from cuelab.experiments import input_gradients_theory as T
from cuelab.methods.adversarial import pgd
from cuelab.models import MLP
from cuelab.params import ParameterError
from cuelab.seeding import generator


def _plain_sgd(net, x, y, cfg, attack=None, seed=0):
    """The textbook loop: every example of every mini-batch evaluated (the authors' pgd_adv_fit_model)."""
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr)
    g = generator(seed)
    for epoch in range(cfg.epochs):
        for group in opt.param_groups:
            group["lr"] = cfg.lr * cfg.lr_factor(epoch)
        perm = torch.randperm(len(y), generator=g)
        for s in range(0, len(y), cfg.batch_size):
            i = perm[s : s + cfg.batch_size]
            xb = x[i] if attack is None else pgd(net, x[i], y[i], attack)
            loss = F.cross_entropy(net(xb), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()


@pytest.mark.parametrize("adversarial", [False, True])
def test_deduplicated_sgd_follows_plain_minibatch_sgd(adversarial):
    cfg = T.TheoryConfig(n_train=300, width=64, epochs=3, batch_size=50, decay_every=1, decay_factor=0.5)
    data = sample_simplified(SimplifiedSpec(n_blocks=10), 300, seed=0)
    attack = cfg.attack() if adversarial else None
    torch.manual_seed(0)
    a = MLP(10, 2, hidden=(64,))
    b = copy.deepcopy(a)
    T.train_sgd(a, data.x, data.y, cfg, attack=attack, seed=3, progress=False)
    _plain_sgd(b, data.x, data.y, cfg, attack=attack, seed=3)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


def test_deduplicate_finds_the_2d_distinct_points():
    data = sample_simplified(SimplifiedSpec(n_blocks=10), 2_000, seed=1)
    ux, uy, idx = T.deduplicate(data.x, data.y)
    assert len(uy) == 20
    assert torch.equal(ux[idx], data.x) and torch.equal(uy[idx], data.y)


def test_v1_schedule_and_parameter_checks():
    cfg = T.TheoryConfig()
    assert (cfg.width, cfg.lr, cfg.epochs, cfg.batch_size, cfg.n_train) == (25_000, 0.1, 500, 250, 10_000)
    assert cfg.lr_factor(49) == 1.0 and cfg.lr_factor(50) == 0.75 and cfg.lr_factor(100) == pytest.approx(0.5625)
    assert cfg.lr_factor(10_000) == 0.01
    a = cfg.attack()
    assert (a.norm, a.eps, a.steps, a.alpha, a.random_start) == ("linf", 0.45, 8, pytest.approx(0.1125), False)
    with pytest.raises(ParameterError, match="width"):
        T.TheoryConfig(width=0)


def test_loss_gradient_is_the_true_label_cross_entropy_gradient():
    torch.manual_seed(0)
    net = MLP(4, 2, hidden=(8,))
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 1, 0, 1])
    g = T.loss_gradient(net, x, y)
    for i in range(5):
        xi = x[i : i + 1].clone().requires_grad_(True)
        F.cross_entropy(net(xi), y[i : i + 1]).backward()
        torch.testing.assert_close(g[i], xi.grad[0])


def test_standard_sgd_inverts_features_robust_finds_the_signal():
    """The theorem's prediction at reduced size: the standard gradient puts the signal last, not first."""
    cfg = T.TheoryConfig(n_train=10_000, n_test=400, width=2_000, epochs=30)
    r = T.run_theory(cfg, seed=0, progress=False)
    t = r.table
    assert t.loc["standard", "clean_acc"] == 1.0 and t.loc["robust", "clean_acc"] >= 0.9
    assert t.loc["standard", "top1_signal"] <= 0.2
    assert t.loc["standard", "bottom1_signal"] >= 0.3  # chance is 1/d = 0.1 (0.84 when written)
    assert t.loc["robust", "top1_signal"] >= 0.6  # 0.84 after 30 epochs; 1.0 after 60
    assert t.loc["robust", "top1_signal"] > t.loc["standard", "top1_signal"] + 0.5
    ranks = T.signal_rank(r.gradients["robust"], r.test.signal_block, 10)
    assert float((ranks == 1).double().mean()) == pytest.approx(t.loc["robust", "top1_signal"])


def test_robust_width_applies_to_the_robust_network_only():
    cfg = T.TheoryConfig(n_train=200, n_test=50, width=16, robust_width=8, epochs=1, batch_size=50)
    r = T.run_theory(cfg, seed=0, progress=False)
    assert r.table["width"].to_dict() == {"standard": 16, "robust": 8}
    assert r.models["robust"].head.in_features == 8
