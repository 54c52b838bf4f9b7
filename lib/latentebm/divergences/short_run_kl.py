"""The KL divergence from the short-run inference distribution to the posterior, and the step size minimising it
(seed 002: arXiv 1912.01909).

With ``z_0 ~ p_0 = N(0, I)`` and the K-step gradient-ascent map ``z_K = F_s(z_0)``, the change of variables gives
``log q_s(z_K | x) = log p_0(z_0) - log|det dF_s/dz_0|``, hence

    KL(q_s(z|x) || p(z|x)) = E_{z_0}[ log p_0(z_0) - log|det dF_s/dz_0| - log p(x, F_s(z_0)) ] + log p(x).

``log p(x)`` does not depend on s: minimising the expectation (the "KL up to log p(x)") over s minimises the KL.
Here: that objective (:func:`kl_up_to_log_evidence`) and two searches for its minimiser, over a grid
(:func:`tune_by_grid`) and by gradient descent in ``log s`` (:func:`tune_by_gradient`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from latentebm.ops import standard_normal_log_prob
from latentebm.samplers.inference import LogJoint, unrolled_map


def kl_up_to_log_evidence(log_joint: LogJoint, z0: Tensor, s: Tensor, n_steps: int, logdet: str = "exact",
                          **estimator) -> Tensor:
    """Monte-Carlo value of ``KL(q_s || p(z|x)) - log p(x)`` averaged over the batch, a scalar differentiable in s.

    ``z0 (B, d)`` are prior draws, one per row of the batch that ``log_joint`` scores (repeat an example to
    average over several chains). The common random numbers ``z0`` make the objective a smooth function of s.
    Where the map folds (a step is not injective on the batch), the change of variables fails and the value is
    ``+inf``: the step size is outside the admissible range.
    """
    mapped = unrolled_map(log_joint, z0, s, n_steps, logdet=logdet, **estimator)
    if mapped.folds:  # not injective: the formula would undercount log q_s; treat this s as inadmissible
        return torch.full((), float("inf"), dtype=z0.dtype, device=z0.device)
    return (standard_normal_log_prob(z0) - mapped.logdet - log_joint(mapped.z)).mean()


@dataclass
class StepSizeFit:
    """Result of a step-size search: the chosen ``s`` and the objective along the way (grid or iterations)."""

    s: float
    trace_s: list[float]
    trace_objective: list[float]


def tune_by_grid(objective: Callable[[Tensor], Tensor], grid: Sequence[float],
                 dtype: torch.dtype | None = None) -> StepSizeFit:
    """Evaluate ``objective(s)`` on a grid of step sizes (``s`` a scalar tensor of ``dtype``, torch's default if
    ``None``); return the minimiser and the curve."""
    dtype = dtype or torch.get_default_dtype()
    values = []
    for s in grid:
        with torch.enable_grad():
            values.append(objective(torch.tensor(float(s), dtype=dtype)).detach().item())
    finite = [(v, s) for v, s in zip(values, grid, strict=True) if v == v and abs(v) != float("inf")]
    best = min(finite)[1]
    return StepSizeFit(float(best), [float(s) for s in grid], values)


def tune_by_gradient(objective: Callable[[Tensor], Tensor], s0: float, steps: int, lr: float = 0.05,
                     s_max: float = 10.0, dtype: torch.dtype | None = None) -> StepSizeFit:
    """Adam descent of ``objective(s)`` over ``log s`` from ``s0`` (log keeps s > 0); ``s`` is capped at ``s_max``.

    ``log s`` is a scalar of ``dtype`` (torch's default if ``None``). Where the objective is not finite (the map
    folds), the step is undone and ``log s`` moves back by ``lr``.
    """
    log_s = torch.tensor(float(s0), dtype=dtype or torch.get_default_dtype()).log().requires_grad_(True)
    optimiser = torch.optim.Adam([log_s], lr=lr)
    trace_s, trace_objective = [], []
    for _ in range(steps):
        value = objective(log_s.exp())
        if not torch.isfinite(value):
            with torch.no_grad():
                log_s -= lr
            trace_s.append(log_s.detach().exp().item())
            trace_objective.append(value.detach().item())
            continue
        # only d/d(log s): the model's own parameters get no gradient from the tuning
        (log_s.grad,) = torch.autograd.grad(value, log_s)
        optimiser.step()
        with torch.no_grad():
            log_s.clamp_(max=float(torch.log(torch.tensor(s_max))))
        trace_s.append(log_s.detach().exp().item())
        trace_objective.append(value.detach().item())
    return StepSizeFit(trace_s[-1] if trace_s else float(s0), trace_s, trace_objective)
