"""A small Vision Transformer, with or without a positional embedding."""

from __future__ import annotations

import torch
from torch import nn

def _check_vit_shape(image_size: int, patch: int, dim: int, heads: int) -> None:
    if image_size % patch:
        raise ValueError(f"patch must divide image_size, got patch={patch} for image_size={image_size}")
    if dim % heads:
        raise ValueError(f"heads must divide dim, got heads={heads} for dim={dim}")


class SmallViT(nn.Module):
    """Patch embedding → pre-norm Transformer encoder → mean pooling over patches → linear head.

    positional=False drops the positional embedding; with mean pooling the model is then exactly
    invariant to any permutation of the patches (a tile shuffle aligned to `patch` leaves its
    features unchanged), which makes it the control that cannot see global arrangement.
    The defaults are a tiny model for CPU runs; DeiT-Tiny at 64 px is
    SmallViT(64, 8, 3, n, dim=192, depth=12, heads=3 or 6).
    """

    def __init__(
        self,
        image_size: int,
        patch: int,
        in_channels: int,
        num_classes: int,
        *,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        positional: bool = True,
    ) -> None:
        super().__init__()
        _check_vit_shape(image_size, patch, dim, heads)
        self.patch = patch
        self.num_patches = (image_size // patch) ** 2
        self.embed = nn.Conv2d(in_channels, dim, kernel_size=patch, stride=patch)
        self.positional = positional
        self.pos = nn.Parameter(torch.zeros(1, self.num_patches, dim)) if positional else None
        if self.pos is not None:
            nn.init.trunc_normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=int(dim * mlp_ratio), dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        self.feature_dim = dim

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens after the encoder, shape (batch, patches, dim)."""
        t = self.embed(x).flatten(2).transpose(1, 2)
        if self.pos is not None:
            t = t + self.pos
        return self.norm(self.encoder(t))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of the patch tokens (the head removed)."""
        return self.tokens(x).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ClsViT(nn.Module):
    """The ViT of Scimeca et al.'s code (hyp_bias_conception, src/main.py): timm's VisionTransformer with a CLS token
    read by the head, mlp_ratio 4, qkv bias, LayerNorm ε 1e-6 and a learned positional embedding; at 64 px with
    patch 8, dim 192, depth 12 and 6 heads it is their model. timm's initialisation (its head too: truncated normal,
    std 0.02, zero bias). `features` is the final CLS token, `head` the linear layer on it."""

    def __init__(self, image_size: int, patch: int, in_channels: int, num_classes: int, *, dim: int = 192,
                 depth: int = 12, heads: int = 6, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        from functools import partial

        from timm.models.vision_transformer import VisionTransformer

        _check_vit_shape(image_size, patch, dim, heads)
        self.vit = VisionTransformer(img_size=image_size, patch_size=patch, in_chans=in_channels, num_classes=0,
                                     embed_dim=dim, depth=depth, num_heads=heads, mlp_ratio=mlp_ratio, qkv_bias=True,
                                     norm_layer=partial(nn.LayerNorm, eps=1e-6), global_pool="token")
        self.head = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)
        self.feature_dim = dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The CLS token after the final LayerNorm (the head removed)."""
        return self.vit(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
