"""Numerical primitives every concept module shares, written once: log-mean-exp, the effective sample size of
importance weights, the standard-normal log-density, an MLP builder, a Lipschitz lower bound, and ``frozen``
(a network in eval mode with its weights' gradients off).

The bottom floor: nothing here imports from the rest of the package.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn


def log_mean_exp(a: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log( mean_i exp(a_i) ) along ``dim``, computed stably."""
    return torch.logsumexp(a, dim=dim) - math.log(a.shape[dim])


def effective_sample_size(log_w: torch.Tensor) -> float:
    """Kish's ESS = (sum w)^2 / sum w^2 = exp(2 logsumexp(log_w) - logsumexp(2 log_w)); log_w: (M,)."""
    return float(torch.exp(2 * torch.logsumexp(log_w, 0) - torch.logsumexp(2 * log_w, 0)))


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I_d) summed over the last axis; z: (..., d) -> (...)."""
    return -0.5 * z.pow(2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


def mlp(sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.SiLU,
        wrap: Callable[[nn.Linear], nn.Module] | None = None, final_activation: bool = False) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with ``activation()`` between them.

    ``wrap`` is applied to every linear layer (e.g. ``torch.nn.utils.parametrizations.spectral_norm``);
    ``final_activation`` adds one after the last layer too. Initial weights come from the global torch stream:
    build inside :func:`latentebm.runtime.initialised_from` to draw them from a named stream instead.
    """
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs an input and an output size, got {list(sizes)}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(n_in, n_out)
        layers.append(wrap(linear) if wrap is not None else linear)
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation())
    return nn.Sequential(*layers)


def lipschitz_estimate(f: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor) -> float:
    """max_i |grad f(points_i)|: a lower bound on the Lipschitz constant of a scalar ``f``; points: (B, d)."""
    x = points.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    return float(grad.flatten(1).norm(dim=-1).max())


def frozen(module: nn.Module) -> nn.Module:
    """``module`` in eval mode with gradients off for its weights (samplers then differentiate in z only)."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module
