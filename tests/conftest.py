"""Shared test settings: keep torch to the 2 cores CI has and quiet Lightning."""

import os
import warnings

import torch

torch.set_num_threads(2)
# The notebooks nbval executes (kernels inherit this) draw explorers as still figures, as in the committed run.
os.environ.setdefault("CUELAB_HEADLESS", "1")
warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")
