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


def test_resnet_avgpool8_head_is_the_authors_grid_and_init():
    from cuelab.models import CifarResNet

    net = CifarResNet(3, 3, head="avgpool8", image_size=64)
    x = torch.randn(4, 3, 64, 64)
    assert net.feature_dim == 256 and net.features(x).shape == (4, 256) and net(x).shape == (4, 3)  # 64 ch × 2 × 2
    # the 2 × 2 grid is kept apart: features are the four 8 × 8 averages of the last stage, channel-major
    last = net.blocks(net.stem(x))
    assert torch.allclose(net.features(x), torch.nn.functional.avg_pool2d(last, 8).flatten(1))
    conv = net.blocks[-1].conv2
    assert abs(float(conv.weight.std()) - (2.0 / (9 * 64)) ** 0.5) < 0.005
    assert CifarResNet(3, 3, head="avgpool8", image_size=32).feature_dim == 64  # at 32 px: global pooling
    with pytest.raises(ValueError, match="head must be one of"):
        CifarResNet(3, 3, head="max")
    with pytest.raises(ValueError, match="needs image_size"):
        CifarResNet(3, 3, head="avgpool8", image_size=48)


def test_cls_vit_is_timms_vision_transformer_with_the_authors_settings():
    from functools import partial

    from timm.models.vision_transformer import VisionTransformer

    from cuelab.models import ClsViT

    torch.manual_seed(0)
    ours = ClsViT(64, 8, 3, 5, dim=48, depth=2, heads=6).eval()
    theirs = VisionTransformer(img_size=64, patch_size=8, in_chans=3, num_classes=5, embed_dim=48, depth=2, num_heads=6,
                               mlp_ratio=4, qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)).eval()
    state = {k.removeprefix("vit."): v for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)  # same parameter names and shapes, head included
    x = torch.randn(3, 3, 64, 64)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    assert ours.vit.blocks[0].mlp.fc1.out_features == 4 * 48 and ours.vit.cls_token is not None
