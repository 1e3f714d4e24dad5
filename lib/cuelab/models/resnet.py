"""CIFAR-style ResNets (He et al. 2016, §4.2): 6n + 2 layers, widths 16/32/64."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with an identity (or 1×1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


RESNET_HEADS = ("global", "avgpool8")


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for small images: depth 20 → n = 3 blocks per stage, then a pooling and a linear head.

    head="global": global average pooling (features = the last stage's 4·base_width channels) and PyTorch's default
    initialisation. head="avgpool8": the head and initialisation of the ResNet of Scimeca et al.'s code
    (hyp_bias_conception, src/models/resnet.py, after Wei Yang's CIFAR port): a fixed AvgPool2d(8) whose grid is
    flattened into the linear layer (at 64 px the last stage is 16 × 16, so a 2 × 2 grid and 4× the features; at
    32 px it equals global pooling), convolutions drawn from N(0, 2 / (k² · out_channels)), BatchNorm weights 1 and
    biases 0. image_size is needed for that head's width.
    """

    def __init__(self, in_channels: int, num_classes: int, depth: int = 20, base_width: int = 16, *,
                 head: str = "global", image_size: int | None = None) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 with n ≥ 1 (8, 14, 20, 32, 56, …), got {depth}")
        if head not in RESNET_HEADS:
            raise ValueError(f"head must be one of {RESNET_HEADS}, got {head!r}")
        n = (depth - 2) // 6
        widths = (base_width, 2 * base_width, 4 * base_width)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        c = widths[0]
        for stage, w in enumerate(widths):
            for i in range(n):
                blocks.append(BasicBlock(c, w, stride=2 if stage > 0 and i == 0 else 1))
                c = w
        self.blocks = nn.Sequential(*blocks)
        if head == "global":
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.feature_dim = c
        else:
            if image_size is None or image_size % 32:
                raise ValueError(f"head='avgpool8' needs image_size, a multiple of 32 (the last stage's side must be a "
                                 f"multiple of 8), got {image_size!r}")
            grid = image_size // 4 // 8
            self.pool = nn.Sequential(nn.AvgPool2d(8), nn.Flatten())
            self.feature_dim = c * grid * grid
        self.head = nn.Linear(self.feature_dim, num_classes)
        if head == "avgpool8":
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled (and, for avgpool8, flattened) feature vector."""
        return self.pool(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def resnet20(in_channels: int = 3, num_classes: int = 10) -> CifarResNet:
    """ResNet-20 as in He et al. (0.27 M parameters for 10 classes)."""
    return CifarResNet(in_channels, num_classes, depth=20)


def torchvision_resnet(name: str, in_channels: int, num_classes: int) -> nn.Module:
    """torchvision's ResNet-18 or ResNet-50 with the usual small-image stem: a 3×3 stride-1 first convolution and
    no max-pool (the CIFAR variant of the robustness library the authors used). Random initial weights."""
    from torchvision.models import resnet18, resnet50

    builders = {"resnet18": resnet18, "resnet50": resnet50}
    if name not in builders:
        raise ValueError(f"name must be one of {sorted(builders)}, got {name!r}")
    net = builders[name](num_classes=num_classes)
    net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net
