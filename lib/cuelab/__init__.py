"""cuelab: reproducible notebooks on which features and cues neural networks learn."""

from cuelab.params import ParameterError
from cuelab.studies import NAMES as STUDIES  # the study names, from the one registry (cuelab.studies)
from cuelab.studies import REGISTRY

__version__ = "0.1.0"

PROFILES: tuple[str, ...] = ("smoke", "full", "wcst4")  # wcst4: shortcut_cues only, WCST-4 on a CPU

__all__ = ["ParameterError", "STUDIES", "REGISTRY", "PROFILES", "__version__"]
