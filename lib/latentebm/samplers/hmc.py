"""Hamiltonian Monte Carlo with the leapfrog integrator, on a batch of chains ``z: (C, d)``.

Augment z with a momentum p ~ N(0, I): H(z, p) = U(z) + |p|^2 / 2, whose Hamiltonian flow keeps H and volume.
The leapfrog scheme (half kick, drift, half kick; L steps of size eps) is reversible and volume preserving, so
accepting the endpoint with probability min(1, exp(H(z, p) - H(z*, p*))) leaves exp(-U) invariant [1].
Each HMC step costs L gradient evaluations (the starting gradient is carried in the state). The state and
``init`` are those of the overdamped samplers (:class:`latentebm.samplers.langevin.LangevinState`).

References:
[1] Neal (2011), MCMC using Hamiltonian dynamics. Handbook of Markov Chain Monte Carlo, ch. 5.
"""

from __future__ import annotations

import torch

from latentebm.samplers.langevin import LangevinState, _normal_like, _uniform
from latentebm.samplers.potentials import Potential, value_and_grad

DEFAULT_LEAPFROG = 10
"""Leapfrog steps L per HMC step when none is given."""


def leapfrog(z: torch.Tensor, p: torch.Tensor, grad: torch.Tensor, potential: Potential, step_size: float,
             n_leapfrog: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """L leapfrog steps from (z, p) with grad U(z) known; returns (z*, p*, U(z*), grad U(z*)), shapes as z."""
    eps = step_size
    u = None
    for _ in range(n_leapfrog):
        p = p - 0.5 * eps * grad
        z = z + eps * p
        u, grad = value_and_grad(potential, z)
        p = p - 0.5 * eps * grad
    return z, p, u, grad


def hmc_step(state: LangevinState, potential: Potential, step_size: float, rng: torch.Generator,
             n_leapfrog: int = DEFAULT_LEAPFROG) -> LangevinState:
    """Draw p ~ N(0, I), integrate L leapfrog steps, accept per chain by the Metropolis test on H."""
    p = _normal_like(state.z, rng)
    z_new, p_new, u_new, grad_new = leapfrog(state.z, p, state.grad, potential, step_size, n_leapfrog)
    log_ratio = (state.u + 0.5 * p.pow(2).sum(1)) - (u_new + 0.5 * p_new.pow(2).sum(1))
    accept = torch.log(_uniform(len(log_ratio), log_ratio, rng)) < log_ratio  # NaN endpoints are rejected
    keep = accept.unsqueeze(1)
    return LangevinState(torch.where(keep, z_new, state.z), torch.where(accept, u_new, state.u),
                         torch.where(keep, grad_new, state.grad), state.n_accepted + accept.to(state.n_accepted),
                         state.n_steps + 1, state.n_grad + n_leapfrog)
