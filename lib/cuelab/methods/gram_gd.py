"""Exact full-batch GD of a two-layer ReLU net with a fixed second layer, run in the span of the training inputs.

For f(x) = Σ_j a_j ReLU(⟨w_j, x⟩) and the mean logistic loss, the gradient of w_j is a combination of the
training inputs, so GD keeps W_t = W_0 + C_t X with C_t ∈ R^{m×n}:

    P_t = W_t Xᵀ = W_0 Xᵀ + C_t K                      (K = X Xᵀ, the training pre-activations)
    g_i = −y_i σ(−y_i f(x_i)) / n                      (∂L/∂f(x_i))
    C_{t+1} = C_t − α · diag(a) (1[P_t > 0] ⊙ 1 gᵀ)

Anything linear in W follows the same way: test pre-activations W_0 X_testᵀ + C_t (X X_testᵀ), neuron
projections W_0 μ + C_t (X μ). After one p-sized product at the start, a step costs O(m n²) instead of
O(m n p) — at the paper's size (p = 40,000, n = 200) two hundred times less — and the iterates are those
of plain GD on W (same update, same float64 arithmetic up to summation order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class GramProblem:
    """Everything GD needs, in the span of the training inputs.

    p0: W_0 Xᵀ (m, n); gram: X Xᵀ (n, n); y: labels ±1 (n,); a: second layer (m,).
    Optional read-outs, each a pair (W_0 Zᵀ (m, k), X Zᵀ (n, k)) for some inputs or directions Z.
    """

    p0: torch.Tensor
    gram: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor
    readouts: dict[str, tuple[torch.Tensor, torch.Tensor]]

    @classmethod
    def build(cls, w0: torch.Tensor, a: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
              readouts: dict[str, torch.Tensor] | None = None) -> "GramProblem":
        """From initial weights w0 (m, p), second layer a, training inputs x (n, p) and read-out inputs Z (k, p)."""
        readouts = dict(readouts or {})
        names = list(readouts)
        blocks = [x, *(readouts[k] for k in names)]
        z = torch.cat(blocks, dim=0)
        # the only p-sized products: W_0 [X; Z]ᵀ and X [X; Z]ᵀ, once
        w0z, xz = w0 @ z.T, x @ z.T
        n = x.shape[0]
        out, start = {}, n
        for k, b in zip(names, blocks[1:]):
            out[k] = (w0z[:, start : start + b.shape[0]].contiguous(), xz[:, start : start + b.shape[0]].contiguous())
            start += b.shape[0]
        return cls(w0z[:, :n].contiguous(), xz[:, :n].contiguous(), y.to(x.dtype), a.to(x.dtype), out)

    def readout(self, name: str, c: torch.Tensor) -> torch.Tensor:
        """W_t Zᵀ (m, k) for the read-out `name` at coefficients c."""
        base, cross = self.readouts[name]
        return base + c @ cross


@dataclass
class GramState:
    """The iterate after `step` GD steps: coefficients c (W = W_0 + c X), training pre-activations and outputs.

    c and pre are the running iterate, updated in place by the next step: copy them to keep them.
    """

    step: int
    c: torch.Tensor
    pre: torch.Tensor
    out: torch.Tensor

    def loss(self, y: torch.Tensor) -> float:
        """Mean logistic loss on the training set."""
        return float(F.softplus(-y * self.out).mean())


def outputs(pre: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """f = Σ_j a_j ReLU(pre_j) for pre-activations pre (m, k)."""
    return torch.mv(torch.relu(pre).T, a)


def gram_gd(problem: GramProblem, step_size: float, steps: int,
            on_step: Callable[[GramState], None] | None = None, record: Iterable[int] | None = None) -> GramState:
    """Run `steps` full-batch GD steps of size step_size; call on_step at t = 0 and each step in record (all if None)."""
    wanted = None if record is None else set(int(s) for s in record)
    p0, gram, y, a = problem.p0, problem.gram, problem.y, problem.a
    n = y.shape[0]
    c = torch.zeros_like(p0)
    pre = p0.clone()
    act = torch.relu(pre)
    state = GramState(0, c, pre, torch.mv(act.T, a))
    if on_step is not None and (wanted is None or 0 in wanted):
        on_step(state)
    neg_a = (-step_size * a)[:, None]  # the update's constant factor −α a_j, one per neuron
    for t in range(1, steps + 1):
        g = (y * torch.sigmoid(-y * state.out)).div_(-n)  # ∂L/∂f(x_i)
        # C ← C − α diag(a) (1[P > 0] ⊙ 1 gᵀ), in place: the state handed to on_step is the running iterate.
        # sign(ReLU(P)) is the mask 1[P > 0]; taking it from the activations saves a pass over (m, n).
        c.addcmul_(act.sign_().mul_(g), neg_a)
        torch.addmm(p0, c, gram, out=pre)  # P = W_0 Xᵀ + C K, recomputed from C (no drift from incremental sums)
        torch.clamp(pre, min=0, out=act)  # ReLU into the same buffer (no allocation per step)
        state = GramState(t, c, pre, torch.mv(act.T, a))
        if on_step is not None and (wanted is None or t in wanted):
            on_step(state)
    return state
