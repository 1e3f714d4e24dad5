"""PGD attacks (L2 and L∞), adversarial training as a Classifier variant, and robust accuracy.

PGD (Madry et al. 2018) maximises the cross-entropy of the true label inside the ε-ball around x:
  L∞: δ ← clip_ε(δ + α·sign(∇δ)),  start U(−ε, ε)^d when random_start;
  L2: δ ← Π_ε(δ + α·∇δ/‖∇δ‖₂),    start uniform in the ball when random_start;
and keeps x + δ inside the data's bounds (clipping toward x never leaves the ball).
The paper's evaluation attacks: L2 with 5 steps of 0.5ε, L∞ with 8 steps of 0.25ε (`AttackConfig.evaluation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cuelab.params import ParameterError, check_choice, check_in_interval, check_positive, check_positive_int
from cuelab.training import Classifier, accuracy, batched, evaluating

NORMS = ("l2", "linf")


@dataclass(frozen=True)
class AttackConfig:
    """A PGD attack: norm, radius ε, number of steps, step size α, random start, data bounds (None: unbounded)."""

    norm: str = "l2"
    eps: float = 2.0
    steps: int = 7
    step_size: float | None = None  # None: 2.5·ε/steps (Madry et al.)
    random_start: bool = True
    bounds: tuple[float, float] | None = (0.0, 1.0)

    def __post_init__(self) -> None:
        check_choice("norm", self.norm, NORMS)
        check_positive("eps", self.eps)
        check_positive_int("steps", self.steps)
        if self.step_size is not None:
            check_positive("step_size", self.step_size)

    @property
    def alpha(self) -> float:
        """The step size actually used."""
        return float(self.step_size) if self.step_size is not None else 2.5 * self.eps / self.steps

    def with_eps(self, eps: float) -> "AttackConfig":
        """The same attack at another radius (a given step size scales with ε)."""
        step = None if self.step_size is None else self.step_size * eps / self.eps
        return replace(self, eps=eps, step_size=step)

    @classmethod
    def evaluation(cls, norm: str, eps: float, bounds: tuple[float, float] | None = (0.0, 1.0)) -> "AttackConfig":
        """The authors' evaluation attack: L2 5 steps of 0.5ε, L∞ 8 steps of 0.25ε, no random start (v1 rand_eps=0)."""
        norm = check_choice("norm", norm, NORMS)
        steps, frac = (5, 0.5) if norm == "l2" else (8, 0.25)
        return cls(norm=norm, eps=eps, steps=steps, step_size=frac * eps, random_start=False, bounds=bounds)


def _flat_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (t.ndim - 1)))


def project(delta: torch.Tensor, norm: str, eps: float) -> torch.Tensor:
    """δ projected onto the ε-ball of the norm (per example)."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    return delta * (eps / _flat_norm(delta)).clamp(max=1.0)


def _random_start(x: torch.Tensor, attack: AttackConfig, eps: float) -> torch.Tensor:
    if attack.norm == "linf":
        return (torch.rand_like(x) * 2 - 1) * eps
    # Uniform in the L2 ball: a uniform direction, radius ε·U^(1/d).
    direction = torch.randn_like(x)
    direction = direction / _flat_norm(direction)
    d = x[0].numel()
    radius = eps * torch.rand(x.shape[0], device=x.device).pow(1.0 / d).view(-1, *([1] * (x.ndim - 1)))
    return direction * radius


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: AttackConfig, eps: float | None = None) -> torch.Tensor:
    """Adversarial examples x + δ (detached) from PGD on the cross-entropy of labels y.

    The model is put in eval mode while attacking (batch-norm statistics must not learn from the attack)
    and restored afterwards. eps overrides attack.eps (for a ramp), scaling the step size with it.
    """
    eps = attack.eps if eps is None else float(eps)
    if eps <= 0:
        return x.detach().clone()
    alpha = attack.alpha * eps / attack.eps
    x = x.detach()
    delta = _random_start(x, attack, eps) if attack.random_start else torch.zeros_like(x)
    if attack.bounds is not None:
        delta = (x + delta).clamp(*attack.bounds) - x
    with evaluating(model):
        for _ in range(attack.steps):
            delta.requires_grad_(True)
            loss = F.cross_entropy(model(x + delta), y)
            (grad,) = torch.autograd.grad(loss, delta)
            with torch.no_grad():
                if attack.norm == "linf":
                    delta = delta + alpha * grad.sign()
                else:
                    delta = delta + alpha * grad / _flat_norm(grad)
                delta = project(delta, attack.norm, eps)
                if attack.bounds is not None:
                    delta = (x + delta).clamp(*attack.bounds) - x
    return (x + delta).detach()


def robust_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, attack: AttackConfig | None, *, batch_size: int = 256
) -> float:
    """Accuracy on PGD examples of attack (clean accuracy when attack is None)."""
    if attack is None:
        return accuracy(model, x, y, batch_size=batch_size)

    def hits(m: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():  # the attack needs gradients; the forward pass that scores it does not
            xb = pgd(m, xb, yb, attack)
        return m(xb).argmax(-1) == yb

    return int(batched(model, x, y, fn=hits, batch_size=batch_size).sum()) / len(x)


class AdversarialClassifier(Classifier):
    """Classifier trained on PGD examples (Madry et al.): each batch is replaced by its attack.

    ε ramps linearly from 0 to attack.eps over the first `ramp_fraction` of the optimizer steps
    (adversarial training collapses on small data when the full ε is applied from step one).
    """

    def __init__(self, model: nn.Module, attack: AttackConfig, *, ramp_fraction: float = 1 / 3, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        if self.loss_name != "cross_entropy":
            raise ParameterError("loss", self.loss_name, "'cross_entropy' (PGD attacks the cross-entropy)")
        self.attack = attack
        self.ramp_fraction = check_in_interval("ramp_fraction", ramp_fraction, 0.0, 1.0, closed_high=True)

    def current_eps(self) -> float:
        """ε at the current optimizer step."""
        if self.ramp_fraction == 0:
            return self.attack.eps
        total = self.trainer.estimated_stepping_batches if self._trainer is not None else 1
        ramp_steps = max(1, math.ceil(self.ramp_fraction * float(total)))
        return self.attack.eps * min(1.0, (self.global_step + 1) / ramp_steps)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = self.augmented(batch)
        eps = self.current_eps()
        x_adv = pgd(self.model, x, y, self.attack, eps=eps)
        self.log("train_eps", eps, on_step=True, on_epoch=False)
        return self._step((x_adv, y), "train")
