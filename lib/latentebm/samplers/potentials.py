"""Potentials U(z) for the samplers: the GEBM latent posterior of seed 001 ("Sampling from the model") and a
Gaussian (the analytic target of the tests), with :func:`value_and_grad` for a batch of chains.

Notation (seed 001): a base (the generator network) B maps a latent z ~ eta to x = B(z); the energy E
reweights the base, f_{B,E}(x) = exp(-E(x)) / Z. For a test function g,

    int g(x) dQ_{B,E}(x) = int g(B(z)) f_{B,E}(B(z)) eta(z) dz,

so the posterior latent distribution is nu(z) = eta(z) f_{B,E}(B(z)) and, at inverse temperature beta,

    nu_beta(z) ∝ eta(z) exp(-beta E(B(z))),    U(z) = -log eta(z) + beta E(B(z))   (up to a constant).

A potential here is any callable ``U(z: (C, d)) -> (C,)`` that torch can differentiate; chains are batched
along the first axis.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Potential = Callable[[torch.Tensor], torch.Tensor]


def value_and_grad(potential: Potential, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """U(z) and grad U(z) for a batch of chains ``z: (C, d)``; returns ``((C,), (C, d))``, both detached.

    Chains are independent, so the gradient of sum_c U(z_c) holds every chain's own gradient.
    """
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        u = potential(z)
        (grad,) = torch.autograd.grad(u.sum(), z)
    return u.detach(), grad.detach()


def standard_normal_neg_log_density(z: torch.Tensor) -> torch.Tensor:
    """-log eta(z) for eta = N(0, I_d), up to the constant: |z|^2 / 2, ``z: (C, d) -> (C,)``."""
    return 0.5 * z.pow(2).flatten(1).sum(1)


def gebm_latent_potential(base: Callable[[torch.Tensor], torch.Tensor],
                          energy: Callable[[torch.Tensor], torch.Tensor], beta: float = 1.0,
                          neg_log_eta: Potential = standard_normal_neg_log_density) -> Potential:
    """U(z) = -log eta(z) + beta E(B(z)) for any base B and energy E (``E: (C, ...) -> (C,)``)."""

    def potential(z: torch.Tensor) -> torch.Tensor:
        return neg_log_eta(z) + beta * energy(base(z)).reshape(z.shape[0])

    return potential


def gaussian_potential(mean: torch.Tensor, covariance: torch.Tensor) -> Potential:
    """U(z) = (z - m)^T Sigma^{-1} (z - m) / 2 for N(m, Sigma); ``mean: (d,)``, ``covariance: (d, d)``."""
    precision = torch.linalg.inv(covariance)

    def potential(z: torch.Tensor) -> torch.Tensor:
        centred = z - mean
        return 0.5 * ((centred @ precision) * centred).sum(1)

    return potential
