"""Plain nn.Modules (no training logic; nothing else of cuelab imported)."""

from cuelab.models.two_layer import TwoLayerReLU

__all__ = ["TwoLayerReLU"]
