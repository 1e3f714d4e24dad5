"""Sharpness, abundance and complexity proxies of the shortcut-cues study, on toys with known answers."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from cuelab.methods import abundance as A
from cuelab.methods import complexity as K
from cuelab.methods import sharpness as S
from cuelab.models import SmallCNN
from cuelab.params import ParameterError


class Quadratic(nn.Module):
    """A parameter vector θ (at the minimum 0) whose 'loss' is ½ θᵀ diag(h) θ."""

    def __init__(self, h: torch.Tensor) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.zeros(len(h)))
        self.h = h

    def loss(self) -> float:
        return float(0.5 * (self.h * self.theta.detach() ** 2).sum())


def test_sphere_test_on_an_isotropic_quadratic_is_exact():
    toy = Quadratic(torch.full((50,), 3.0))
    t = S.sphere_test(toy, lambda m: m.loss(), [0, 1, 2, 4], n_directions=4, seed=0)
    means = t.groupby("r")["delta"].mean()
    assert means[0.0] == 0.0
    assert np.allclose(means.to_numpy(), 0.5 * 3.0 * np.array([0, 1, 2, 4]) ** 2, rtol=1e-4)   # ΔL(r) = c r² / 2
    assert torch.equal(toy.theta.detach(), torch.zeros(50))                                     # weights restored


def test_sphere_test_averages_the_curvature_of_an_anisotropic_quadratic():
    h = torch.cat([torch.full((10,), 10.0), torch.full((90,), 0.0)])
    t = S.sphere_test(Quadratic(h), lambda m: m.loss(), [1.0, 2.0], n_directions=300, seed=1)
    means = S.sphere_summary(t).set_index("r")["mean"]
    # E[ΔL(r)] = r²/2 · mean(h) = r²/2 · 1.0 for a uniformly random unit direction
    assert means[1.0] == pytest.approx(0.5, rel=0.15) and means[2.0] == pytest.approx(2.0, rel=0.15)
    assert means[2.0] > means[1.0]
    with pytest.raises(ParameterError, match="n_directions"):
        S.sphere_test(Quadratic(h), lambda m: m.loss(), [1.0], n_directions=0)


def test_random_direction_has_unit_norm_and_filter_normalised_matches_filters():
    torch.manual_seed(0)
    m = SmallCNN(3, 3, widths=(4, 8))
    d = S.random_direction(m, seed=0)
    assert float(torch.sqrt(sum((t ** 2).sum() for t in d))) == pytest.approx(1.0, abs=1e-5)
    fn = S.filter_normalised_direction(m, seed=0)
    for p, t in zip(m.parameters(), fn):
        if p.dim() <= 1:
            assert float(t.abs().sum()) == 0.0
        else:
            assert torch.allclose(t.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1), rtol=1e-4)


def test_loss_surface_and_slice_on_a_real_model():
    torch.manual_seed(0)
    m = SmallCNN(3, 3, widths=(4, 8))
    x, y = torch.rand(40, 3, 8, 8), torch.randint(0, 3, (40,))
    loss = S.dataset_loss(x, y)
    base = loss(m)
    before = [p.detach().clone() for p in m.parameters()]
    surf = S.loss_surface_2d(m, loss, span=1.0, steps=3, seed=0)
    assert len(surf) == 9
    assert surf.query("alpha == 0 and beta == 0")["loss"].item() == pytest.approx(base, abs=1e-6)
    sl = S.loss_slice_1d(m, loss, [-1.0, 0.0, 1.0], seed=0)
    assert sl.loc[1, "loss"] == pytest.approx(base, abs=1e-6)
    assert all(torch.equal(a, p) for a, p in zip(before, m.parameters()))


def test_eta_squared_and_logit_variance_share():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 3, 600)
    assert A.eta_squared(groups[:, None] * 1.0, groups) == pytest.approx(1.0)
    assert A.eta_squared(rng.normal(size=(600, 2)), groups) < 0.02

    class ReadsCue(nn.Module):
        """Logits that copy pixel 0, which holds cue 0's level: cue 0 explains all logit variance."""

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x):
            return x[:, :1] * self.w.expand(3)

    levels = np.stack([groups, rng.integers(0, 3, 600)], axis=1)
    x = torch.from_numpy(np.concatenate([groups[:, None], rng.normal(size=(600, 3))], 1)).float()
    t = A.logit_variance_share(lambda s: ReadsCue(), x, levels, ["a", "b"], n_inits=2)
    share = t.groupby("cue")["share"].mean()
    assert share["a"] == pytest.approx(1.0) and share["b"] < 0.02


def test_adopted_histogram():
    rows = []
    for seed, winner in enumerate(["color", "color", "shape"]):
        for cue in ("color", "shape", "scale"):
            rows.append({"arch": "cnn", "seed": seed, "epoch": 5, "cue": cue, "acc": 0.9 if cue == winner else 0.3})
            rows.append({"arch": "cnn", "seed": seed, "epoch": 0, "cue": cue, "acc": 0.9 if cue == "scale" else 0.3})
    h = A.adopted_histogram(pd.DataFrame(rows), ["color", "shape", "scale"]).set_index("cue")
    assert h["runs"].tolist() == [2, 1, 0] and h.loc["color", "share"] == pytest.approx(2 / 3)


def test_compression_orders_a_constant_image_below_noise():
    rng = np.random.default_rng(0)
    const = np.full((3, 3, 32, 32), 0.5)
    noise = rng.random((3, 3, 32, 32))
    for method in K.COMPRESSORS:
        assert K.compressed_bytes(K.to_bytes(const), method) < 0.1 * K.compressed_bytes(K.to_bytes(noise), method)
        assert K.variation_bytes(const, method) < 0.05 * K.variation_bytes(noise, method)
    # a channel swap of a sprite costs far fewer extra bytes than a new random sprite
    sprite = (rng.random((32, 32)) > 0.7).astype(float)
    swap = np.stack([np.stack([sprite * (c == k) for c in range(3)]) for k in range(3)])
    other = np.stack([np.stack([(rng.random((32, 32)) > 0.7) * (c == 0) for c in range(3)]) for _ in range(3)]).astype(float)
    assert K.variation_bytes(swap, "lzma") < 0.5 * K.variation_bytes(other, "lzma")
    with pytest.raises(ParameterError, match="method"):
        K.compressed_bytes(b"abc", "zip")


def test_prequential_code_is_short_for_learnable_labels():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=g)
    easy = (x[:, 0] > 0).long()                         # a linear cue
    noise = torch.randint(0, 2, (512,), generator=g)    # no cue at all
    make = lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    ends = [16, 64, 128, 256, 512]
    e = K.prequential_code_length(x, easy, 2, make, block_ends=ends, steps=60, lr=1e-2, seed=0)
    n = K.prequential_code_length(x, noise, 2, make, block_ends=ends, steps=60, lr=1e-2, seed=0)
    assert e["uniform_bits"] == n["uniform_bits"] == 512
    assert e["blocks"][0] == 16                         # first block: uniform code, 1 bit per binary label
    assert e["bits"] < 0.4 * e["uniform_bits"] and n["bits"] > 0.9 * n["uniform_bits"]
    with pytest.raises(ParameterError, match="block_ends"):
        K.prequential_code_length(x, easy, 2, make, block_ends=[64, 32])
