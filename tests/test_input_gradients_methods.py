"""Attributions, PGD, adversarial training, localisation scores and DiffROAR, checked with real numbers."""


import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cuelab.methods import attribution as A
from cuelab.methods import localisation as Loc
from cuelab.methods import roar
from cuelab.methods.adversarial import AdversarialClassifier, AttackConfig, pgd, project, robust_accuracy
from cuelab.models import MLP
from cuelab.params import ParameterError
from cuelab.seeding import generator
from cuelab.training import StepRecorder, fit


def linear_model(d_in=12, k=4, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(d_in, k))


# ----------------------------------------------------------------------------------------------- attributions


def test_input_gradient_of_a_linear_model_is_its_weight_row():
    net = linear_model()
    x = torch.randn(30, 1, 3, 4, generator=generator(1))
    target = torch.arange(30) % 4
    g = A.input_gradient(net, x, target)
    w = net[1].weight.detach()
    assert torch.allclose(g.reshape(30, -1), w[target], atol=1e-6)
    # default target: the predicted label
    pred = A.predict(net, x)
    assert torch.allclose(A.input_gradient(net, x).reshape(30, -1), w[pred], atol=1e-6)


def test_smoothgrad_of_a_linear_model_is_its_weights_and_is_seeded():
    net = linear_model()
    x = torch.rand(8, 12, generator=generator(2))
    s = A.smoothgrad(net, x, torch.zeros(8, dtype=torch.long), n_samples=10, noise=0.2)
    assert torch.allclose(s, net[1].weight.detach()[0].expand(8, -1), atol=1e-6)
    torch.manual_seed(0)
    mlp = MLP(12, 3, hidden=(16,))
    a, b = A.smoothgrad(mlp, x, seed=5), A.smoothgrad(mlp, x, seed=5)
    assert torch.equal(a, b) and not torch.equal(a, A.input_gradient(mlp, x))


def test_integrated_gradients_are_complete():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 5))
    x = torch.rand(16, 20, generator=generator(3))
    target = A.predict(net, x)
    ig = A.integrated_gradients(net, x, target, steps=300)
    with torch.no_grad():
        gap = net(x).gather(1, target[:, None]).squeeze(1) - net(torch.zeros_like(x)).gather(1, target[:, None]).squeeze(1)
    assert torch.allclose(ig.sum(1), gap, atol=2e-3, rtol=1e-2)
    # a ReLU net is piecewise linear: the Riemann sum still converges
    torch.manual_seed(1)
    relu = MLP(20, 5, hidden=(64, 64))
    ig = A.integrated_gradients(relu, x, target, steps=500)
    with torch.no_grad():
        gap = relu(x).gather(1, target[:, None]).squeeze(1) - relu(torch.zeros_like(x)).gather(1, target[:, None]).squeeze(1)
    assert (ig.sum(1) - gap).abs().max() < 0.02 * gap.abs().max() + 1e-4


def test_random_attribution_and_dispatch():
    x = torch.zeros(4, 1, 5, 5)
    r = A.attribute("random", None, x, seed=3)
    assert r.shape == x.shape and torch.equal(r, A.random_attribution(x, seed=3))
    assert 0.0 <= float(r.min()) and float(r.max()) < 1.0
    with pytest.raises(ParameterError, match="method"):
        A.attribute("lime", None, x)
    assert A.pixel_scores(torch.ones(2, 3, 4, 4)).shape == (2, 4, 4)
    assert float(A.pixel_scores(-torch.ones(2, 3, 4, 4))[0, 0, 0]) == 3.0


# ----------------------------------------------------------------------------------------------- PGD


@pytest.fixture(scope="module")
def small_problem():
    """A trained MLP on two Gaussian blobs in [0, 1]^20."""
    g = generator(0)
    n = 400
    y = torch.randint(0, 2, (n,), generator=g)
    x = (0.5 + 0.15 * (2 * y[:, None] - 1) + 0.1 * torch.randn(n, 20, generator=g)).clamp(0, 1)
    torch.manual_seed(0)
    net = MLP(20, 2, hidden=(32,))
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(200):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return net.eval(), x, y


@pytest.mark.parametrize("norm,eps", [("linf", 0.2), ("l2", 1.0)])
def test_pgd_raises_the_loss_and_stays_in_the_ball(small_problem, norm, eps):
    net, x, y = small_problem
    attack = AttackConfig(norm, eps, steps=10)
    torch.manual_seed(1)
    x_adv = pgd(net, x, y, attack)
    delta = (x_adv - x).flatten(1)
    if norm == "linf":
        assert float(delta.abs().max()) <= eps + 1e-6
    else:
        assert float(delta.norm(dim=1).max()) <= eps + 1e-5
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
    with torch.no_grad():
        clean, adv = F.cross_entropy(net(x), y), F.cross_entropy(net(x_adv), y)
    assert float(adv) > float(clean) + 0.1
    assert robust_accuracy(net, x, y, attack) < robust_accuracy(net, x, y, None) - 0.1


def test_projection_and_evaluation_attacks():
    d = torch.randn(6, 3, 4, 4, generator=generator(4)) * 5
    assert float(project(d, "linf", 0.3).abs().max()) <= 0.3 + 1e-6
    assert float(project(d, "l2", 2.0).flatten(1).norm(dim=1).max()) <= 2.0 + 1e-5
    small = d * 1e-3
    assert torch.equal(project(small, "l2", 2.0), small)  # inside the ball: unchanged
    ev = AttackConfig.evaluation("l2", 0.5)
    assert (ev.steps, ev.alpha) == (5, 0.25)
    ev = AttackConfig.evaluation("linf", 8 / 255)
    assert ev.steps == 8 and ev.alpha == pytest.approx(2 / 255)
    assert AttackConfig("l2", 2.0, 7).alpha == pytest.approx(2.5 * 2.0 / 7)
    with pytest.raises(ParameterError, match="norm"):
        AttackConfig("l1", 1.0)


def test_adversarial_training_ramps_eps(small_problem):
    _, x, y = small_problem
    attack = AttackConfig("linf", 0.05, steps=5)
    torch.manual_seed(0)
    module = AdversarialClassifier(MLP(20, 2, hidden=(32,)), attack, ramp_fraction=0.5, optimizer="adam", lr=1e-2)
    eps_seen = StepRecorder(lambda m, step: {"eps": m.current_eps()})
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=50, shuffle=True,
                                         generator=generator(0))
    fit(module, loader, seed=0, max_epochs=10, callbacks=[eps_seen])
    eps = [r["eps"] for r in eps_seen.rows[1:]]  # after each of the 80 optimizer steps
    assert len(eps) == 80
    assert eps[0] < 0.05 / 10 and eps[39:] == [pytest.approx(0.05)] * len(eps[39:])
    assert all(a <= b + 1e-12 for a, b in zip(eps, eps[1:]))
    assert robust_accuracy(module.model, x, y, None) > 0.95  # ε below the margin: clean accuracy is kept
    with pytest.raises(ParameterError, match="loss"):
        AdversarialClassifier(MLP(20, 1), attack, loss="logistic")


# ----------------------------------------------------------------------------------------------- localisation


def test_localisation_scores_of_perfect_random_and_constant_attributions():
    mask = torch.zeros(200, 1, 8, 4, dtype=torch.bool)
    mask[:100, :, :4] = True
    mask[100:, :, 4:] = True
    perfect = mask.float() * torch.rand(mask.shape, generator=generator(0))
    assert float(Loc.null_mass(perfect, mask).max()) == 0.0
    assert float(Loc.top_share(perfect, mask, 0.25).min()) == 1.0
    rnd = torch.rand(mask.shape, generator=generator(1))
    assert float(Loc.null_mass(rnd, mask).mean()) == pytest.approx(0.5, abs=0.02)
    assert float(Loc.top_share(rnd, mask, 0.25).mean()) == pytest.approx(0.5, abs=0.05)
    # all ties: a stable sort would put the whole top block first (share 1 or 0); random ties give ≈ 0.5
    const = torch.ones(mask.shape)
    assert float(Loc.top_share(const, mask, 0.25).mean()) == pytest.approx(0.5, abs=0.05)
    assert float(Loc.top1_in_signal(perfect, mask).mean()) == 1.0
    assert float(Loc.bottom1_in_signal(perfect, mask).mean()) == 0.0


def test_keep_mask_counts_and_masking():
    scores = torch.rand(10, 6, 5, generator=generator(2))
    top, bottom = roar.keep_mask(scores, 0.2, "top"), roar.keep_mask(scores, 0.2, "bottom")
    assert top.sum((1, 2)).tolist() == [6] * 10 and bottom.sum((1, 2)).tolist() == [6] * 10
    assert not (top & bottom).any()
    assert float(scores[top].min()) > float(scores[bottom].max())
    x = torch.ones(10, 3, 6, 5)
    masked = roar.mask_images(x, top, fill=-1.0)
    assert torch.equal(masked[:, 0] == 1, top) and float(masked[~top.unsqueeze(1).expand_as(x)].max()) == -1.0
    assert roar.leak_guard(0.9, 0.86) and not roar.leak_guard(0.95, 0.86)


def _toy_blocks(n, seed):
    """Two 4×4 blocks stacked (8×4): the label's sign fills the signal block, the other block is a fixed patch."""
    g = generator(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    top = torch.rand(n, generator=g) < 0.5
    signal = (0.5 + 0.4 * (2 * y - 1).float())[:, None, None] + 0.05 * torch.randn(n, 4, 4, generator=g)
    null = torch.full((n, 4, 4), 0.5) + 0.05 * torch.randn(n, 4, 4, generator=g)
    x = torch.where(top[:, None, None], torch.cat([signal, null], 1), torch.cat([null, signal], 1)).unsqueeze(1)
    mask = torch.zeros(n, 8, 4, dtype=torch.bool)
    mask[top, :4] = True
    mask[~top, 4:] = True
    return x, y, mask


def test_diffroar_oracle_is_large_and_random_is_near_zero():
    x_tr, y_tr, m_tr = _toy_blocks(600, 0)
    x_te, y_te, m_te = _toy_blocks(300, 1)
    oracle_tr = m_tr.float() + 0.01 * torch.rand(m_tr.shape, generator=generator(5))
    oracle_te = m_te.float() + 0.01 * torch.rand(m_te.shape, generator=generator(6))
    make = lambda: MLP(32, 2, hidden=(32,))  # noqa: E731
    cfg = roar.RetrainConfig(epochs=8, lr=1e-2, batch_size=64)
    oracle = roar.diffroar(make, (x_tr, y_tr, oracle_tr), (x_te, y_te, oracle_te), [0.25], cfg, progress=False)
    rand = roar.diffroar(make, (x_tr, y_tr, torch.rand(600, 8, 4, generator=generator(7))),
                         (x_te, y_te, torch.rand(300, 8, 4, generator=generator(8))), [0.25], cfg, progress=False)
    assert float(oracle["acc_top"].iloc[0]) > 0.95 and float(oracle["acc_bottom"].iloc[0]) < 0.65
    assert float(oracle["diffroar"].iloc[0]) > 0.35
    assert abs(float(rand["diffroar"].iloc[0])) < 0.06
    assert list(roar.curve(oracle).columns) == ["diffroar", "std", "acc_top", "acc_bottom"]


def test_evaluation_attacks_have_no_random_start():
    """v1 evaluated robustness with rand_eps = 0."""
    assert not AttackConfig.evaluation("l2", 0.5).random_start
    assert not AttackConfig.evaluation("linf", 8 / 255).random_start


def test_fill_mean_and_coordinate_masks():
    x = torch.rand(6, 3, 4, 4, generator=generator(1))
    fill = roar.fill_value(x, "mean")
    assert fill.shape == (3, 1, 1)
    torch.testing.assert_close(fill.flatten(), x.mean(dim=(0, 2, 3)))
    assert roar.fill_value(x, 0.25) == 0.25
    with pytest.raises(ParameterError, match="fill"):
        roar.fill_value(x, "median")
    keep = roar.keep_mask(x, 0.5, "top")  # per coordinate: C·H·W ranked together
    assert keep.shape == x.shape and int(keep[0].sum()) == 24
    out = roar.mask_images(x, keep, fill)
    assert torch.equal(out[keep], x[keep])
    assert torch.allclose(out[~keep], fill.expand_as(x)[~keep])


def test_leak_guard_trips_on_label_conditioned_masks_and_not_on_random_ones():
    """Positive control: masks that encode the true label must trip the guard; random masks must not."""
    from cuelab.experiments import input_gradients as X
    from cuelab.training import TrainConfig

    g = generator(2)
    x_tr, x_te = 0.5 + 0.5 * torch.rand(600, 1, 8, 8, generator=g), 0.5 + 0.5 * torch.rand(300, 1, 8, 8, generator=g)
    y_tr, y_te = torch.randint(0, 4, (600,), generator=g), torch.randint(0, 4, (300,), generator=g)
    chance = 0.25  # the images carry no label information: an attributed model cannot beat chance
    inputs = {
        "label-leaking": X.RoarInput(roar.label_leaking_scores(y_tr, (8, 8), 4), roar.label_leaking_scores(y_te, (8, 8), 4)),
        "random": X.RoarInput(torch.rand(600, 8, 8, generator=g), torch.rand(300, 8, 8, generator=g)),
    }
    make = lambda: MLP(64, 4, hidden=(32,))  # noqa: E731
    t = X.diffroar_sweep(inputs, make, x_tr, y_tr, x_te, y_te, [0.1], TrainConfig(epochs=15, lr=3e-3, batch_size=64),
                         reference_accuracy={"label-leaking": chance, "random": chance},
                         recipe_accuracy=chance).set_index("attribution")
    assert t.loc["label-leaking", "acc_top"] > 0.9
    assert not t.loc["label-leaking", "leak_guard_ok"] and not t.loc["label-leaking", "recipe_guard_ok"]
    assert t.loc["random", "leak_guard_ok"] and t.loc["random", "recipe_guard_ok"]
    with pytest.raises(ParameterError, match="reference_accuracy"):
        X.diffroar_sweep(inputs, make, x_tr, y_tr, x_te, y_te, [0.1], TrainConfig(epochs=1),
                         reference_accuracy={"random": chance})
