"""The shared models: output shapes, features without the head, and the ViT's permutation property."""

import pytest
import torch

from cuelab.models import MLP, CifarResNet, SmallCNN, SmallViT, resnet20


def test_mlp_shapes_and_head_on_features():
    model = MLP(2 * 28 * 28, 10, hidden=(32, 16))
    x = torch.randn(5, 1, 56, 28)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 16)
    assert torch.allclose(model.head(model.features(x)), model(x))


def test_small_cnn_pools_globally():
    torch.manual_seed(0)
    model = SmallCNN(3, 4, widths=(8, 16)).eval()
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 4)
    assert model.features(x).shape == (2, 16)
    # Global pooling: the same network takes another image size.
    assert model(torch.randn(2, 3, 48, 40)).shape == (2, 4)


def test_resnet20_has_the_papers_size():
    model = resnet20(3, 10)
    n_params = sum(p.numel() for p in model.parameters())
    assert 0.26e6 < n_params < 0.28e6  # He et al. 2016: 0.27 M
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="6n \\+ 2"):
        CifarResNet(3, 10, depth=21)


def _shuffle_patches(x: torch.Tensor, patch: int, perm: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    g = h // patch
    tiles = x.reshape(b, c, g, patch, g, patch).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, c, patch, patch)
    tiles = tiles[:, perm]
    return tiles.reshape(b, g, g, c, patch, patch).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


def test_vit_without_positions_ignores_patch_order_and_with_positions_does_not():
    torch.manual_seed(0)
    x = torch.randn(3, 3, 32, 32)
    perm = torch.randperm(16)
    shuffled = _shuffle_patches(x, 8, perm)
    assert not torch.allclose(x, shuffled)
    blind = SmallViT(32, 8, 3, 5, dim=32, depth=2, heads=4, positional=False).eval()
    seeing = SmallViT(32, 8, 3, 5, dim=32, depth=2, heads=4, positional=True).eval()
    with torch.no_grad():
        assert torch.allclose(blind.features(x), blind.features(shuffled), atol=1e-5)
        seeing.pos.normal_()  # a trained-looking embedding, so the order matters visibly
        assert not torch.allclose(seeing.features(x), seeing.features(shuffled), atol=1e-3)
    assert blind(x).shape == (3, 5)


def test_vit_rejects_a_patch_that_does_not_divide_the_image():
    with pytest.raises(ValueError, match="patch must divide"):
        SmallViT(30, 8, 3, 2)
