"""cuelab: reproducible notebooks on which features and cues neural networks learn."""

from cuelab.params import ParameterError

__version__ = "0.1.0"

STUDIES: tuple[str, ...] = ("xor_grokking", "input_gradients", "shortcut_cues", "global_shape")
PROFILES: tuple[str, ...] = ("smoke", "full")

__all__ = ["ParameterError", "STUDIES", "PROFILES", "__version__"]
