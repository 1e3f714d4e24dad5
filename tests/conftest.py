"""Shared test settings: keep torch to the 2 cores CI has and quiet Lightning."""

import warnings

import torch

torch.set_num_threads(2)
warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")
