"""Plain nn.Modules (no training logic; nothing else of cuelab imported).

Every classifier here exposes `features(x)` (the representation with the head removed)
and `head` (the final linear layer), so measurements can use either.
"""

from cuelab.models.bag_cnn import LocalBagCNN
from cuelab.models.mlp import MLP
from cuelab.models.resnet import CifarResNet, resnet20, torchvision_resnet
from cuelab.models.small_cnn import SmallCNN
from cuelab.models.two_layer import TwoLayerReLU
from cuelab.models.vit import ClsViT, SmallViT

__all__ = ["LocalBagCNN", "MLP", "CifarResNet", "ClsViT", "SmallCNN", "SmallViT", "TwoLayerReLU", "resnet20", "torchvision_resnet"]
