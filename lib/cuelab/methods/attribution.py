"""Gradient attributions, written out (no Captum): input gradients, SmoothGrad, Integrated Gradients, random.

Every method explains one logit per input: by default the *predicted* label's (the card's pitfall:
explaining the true label leaks the label into anything built from the attribution, e.g. DiffROAR's
masks). Settings follow the papers, not a library's defaults:
  input gradient     ∂f_c/∂x (Simonyan et al. 2013);
  SmoothGrad         the mean of ∂f_c/∂x over n_samples copies x + N(0, σ²), σ = noise · (x_max − x_min),
                     noise 0.10–0.20 and ~50 samples (Smilkov et al. 2017);
  Integrated Grads   (x − x₀) ⊙ (1/m) Σ_{i=1..m} ∂f_c/∂x at x₀ + (i/m)(x − x₀): the right Riemann sum from a
                     zero baseline x₀ = 0 (Sundararajan et al. 2017, eq. 3), m = steps;
  random             i.i.d. U(0, 1) scores, the baseline every ranking must beat.
Attributions have the input's shape; rank features by their magnitude.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cuelab.params import check_choice, check_positive, check_positive_int
from cuelab.seeding import generator
from cuelab.training import batched, evaluating

METHODS = ("gradient", "smoothgrad", "integrated_gradients", "random")


def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Predicted labels (argmax of the logits), in batches, with the model in eval mode."""
    return batched(model, x, fn=lambda m, xb: m(xb).argmax(-1), batch_size=batch_size)


def _logit_grad(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    out = model(x)
    picked = out.gather(1, target.view(-1, 1)).sum()  # each row's logit depends only on its own input
    (grad,) = torch.autograd.grad(picked, x)
    return grad


def _batched(
    fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor],
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None,
    batch_size: int,
) -> torch.Tensor:
    device = next(model.parameters()).device
    # Not cuelab.training.batched: fn needs gradients. Eval mode: batch norm must not see the perturbed copies as a
    # batch to learn from.
    with evaluating(model):
        if target is None:
            target = predict(model, x, batch_size)
        parts = []
        for i in range(0, len(x), batch_size):
            parts.append(fn(x[i : i + batch_size].to(device), target[i : i + batch_size].to(device), i).cpu())
    return torch.cat(parts)


def input_gradient(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None, *, batch_size: int = 256) -> torch.Tensor:
    """∂f_c/∂x for c = target (default: the predicted label)."""
    return _batched(lambda xb, tb, _: _logit_grad(model, xb, tb), model, x, target, batch_size)


def smoothgrad(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    n_samples: int = 50,
    noise: float = 0.15,
    value_range: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
    batch_size: int = 64,
) -> torch.Tensor:
    """SmoothGrad: the mean input gradient over n_samples noisy copies, σ = noise·(range width)."""
    n_samples = check_positive_int("n_samples", n_samples)
    sigma = check_positive("noise", noise) * (value_range[1] - value_range[0])
    g = generator(seed)

    def one(xb: torch.Tensor, tb: torch.Tensor, start: int) -> torch.Tensor:
        total = torch.zeros_like(xb)
        for _ in range(n_samples):
            # Noise drawn on the CPU from our own generator: the same numbers on any device.
            eps = torch.randn(xb.shape, generator=g).to(xb.device) * sigma
            total += _logit_grad(model, xb + eps, tb)
        return total / n_samples

    return _batched(one, model, x, target, batch_size)


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    steps: int = 50,
    baseline: float | torch.Tensor = 0.0,
    batch_size: int = 64,
) -> torch.Tensor:
    """Integrated Gradients from `baseline` (default 0) by the right Riemann sum with `steps` points."""
    steps = check_positive_int("steps", steps)

    def one(xb: torch.Tensor, tb: torch.Tensor, start: int) -> torch.Tensor:
        x0 = torch.as_tensor(baseline, dtype=xb.dtype, device=xb.device).expand_as(xb)
        total = torch.zeros_like(xb)
        for i in range(1, steps + 1):
            total += _logit_grad(model, x0 + (i / steps) * (xb - x0), tb)
        return (xb - x0) * total / steps

    return _batched(one, model, x, target, batch_size)


def random_attribution(x: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """Uniform random scores with x's shape: a ranking that knows nothing."""
    return torch.rand(x.shape, generator=generator(seed))


def attribute(method: str, model: nn.Module | None, x: torch.Tensor, *, seed: int = 0, **settings) -> torch.Tensor:
    """Dispatch to one of METHODS by name (settings go to that method)."""
    check_choice("method", method, METHODS)
    if method == "random":
        return random_attribution(x, seed=seed)
    if model is None:
        raise ValueError(f"method={method!r} needs a model")
    if method == "gradient":
        return input_gradient(model, x, **settings)
    if method == "smoothgrad":
        return smoothgrad(model, x, seed=seed, **settings)
    return integrated_gradients(model, x, **settings)


def pixel_scores(attribution: torch.Tensor) -> torch.Tensor:
    """Per-pixel magnitude (N, H, W): |A| summed over channels, the quantity rankings and masks use."""
    if attribution.ndim == 4:
        return attribution.abs().sum(dim=1)
    return attribution.abs()
