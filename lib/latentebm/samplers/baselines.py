"""The two baselines of the GEBM paper's relative-FID table: independent Metropolis-Hastings (IMH) with the
prior as proposal, and discriminator optimal transport (DOT), a deterministic gradient shift of the latent.

IMH [1]. For a target exp(-U(z)) and the proposal eta = N(0, I), the importance weight is
w(z) = exp(-U(z)) / eta(z), so log w(z) = -(U(z) - |z|^2 / 2) up to a constant; for the GEBM potential
U(z) = |z|^2/2 + beta E(B(z)) that is log w = -beta E(B(z)). A fresh z* ~ eta is accepted with probability
min(1, w(z*) / w(z)). Exact, gradient free, but it only re-weights what the base proposes. It has the shape of
every sampler here (``init(z, potential, rng)``, ``step(state, potential, step_size, rng)``; the step size is
unused) and is in :data:`latentebm.samplers.registry.SAMPLERS` as ``"imh"``.

DOT [2]. For z_y ~ eta, move to argmin_z |z - z_y|_2 - D(B(z)) / k_eff, with the critic D = -E and k_eff
:func:`latent_slope_bound`, the largest slope of D o B over pairs of latents (a lower bound on its Lipschitz
constant); solved by a few Adam steps on z. It transports the base toward where the critic is high, with no
noise and no target law, so it is an optimiser, not a sampler in the registry.

References:
[1] Tierney (1994), Markov chains for exploring posterior distributions. Ann. Statist. 22(4).
[2] Tanaka (2019), Discriminator optimal transport. NeurIPS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from latentebm.samplers.langevin import _normal_like, _uniform
from latentebm.samplers.potentials import Potential, standard_normal_neg_log_density

Critic = Callable[[torch.Tensor], torch.Tensor]


class IMHState(NamedTuple):
    """z: (C, d) current latents; log_w: (C,) log w(z) = -(U(z) - |z|^2/2); n_accepted: (C,); n_steps;
    n_grad: gradient evaluations per chain (always 0)."""

    z: torch.Tensor
    log_w: torch.Tensor
    n_accepted: torch.Tensor
    n_steps: int = 0
    n_grad: int = 0


@torch.no_grad()
def prior_log_weight(potential: Potential, z: torch.Tensor) -> torch.Tensor:
    """log w(z) = -U(z) - log eta(z) (up to a constant) for the proposal eta = N(0, I): ``(C, d) -> (C,)``."""
    return -(potential(z) - standard_normal_neg_log_density(z))


def imh_init(z: torch.Tensor, potential: Potential, rng: torch.Generator | None = None) -> IMHState:
    """Start IMH chains at ``z: (C, d)``; draws nothing, so ``rng`` is unused."""
    return IMHState(z.detach().clone(), prior_log_weight(potential, z), torch.zeros(z.shape[0], device=z.device))


def imh_step(state: IMHState, potential: Potential, step_size: float, rng: torch.Generator) -> IMHState:
    """Propose z* ~ N(0, I) independently of z; accept per chain with probability min(1, w(z*) / w(z)).

    ``step_size`` is unused (the proposal has no scale to set); it is there so IMH runs under any schedule.
    """
    z = state.z
    proposal = _normal_like(z, rng)
    log_w_new = prior_log_weight(potential, proposal)
    accept = torch.log(_uniform(z.shape[0], state.log_w, rng)) < log_w_new - state.log_w
    return IMHState(torch.where(accept.unsqueeze(1), proposal, z), torch.where(accept, log_w_new, state.log_w),
                    state.n_accepted + accept.to(state.n_accepted), state.n_steps + 1, state.n_grad)


def latent_critic(base: Callable[[torch.Tensor], torch.Tensor],
                  energy: Callable[[torch.Tensor], torch.Tensor]) -> Critic:
    """The critic of DOT as a function of the latent: D(B(z)) = -E(B(z)), ``(C, d) -> (C,)``."""

    def critic(z: torch.Tensor) -> torch.Tensor:
        return -energy(base(z)).reshape(z.shape[0])

    return critic


def latent_slope_bound(critic_of_latent: Critic, z: torch.Tensor) -> float:
    """k_eff = max_i |D(B(z_i)) - D(B(z'_i))| / |z_i - z'_i| over the pairs (z_i, z'_i) = (z[i], z[-1 - i]).

    The largest difference quotient of D o B between pairs of latents ``z: (C, d)``: a lower bound on its
    Lipschitz constant from finite differences (DOT's estimate), not the gradient-norm bound of
    :func:`latentebm.ops.lipschitz_estimate`.
    """
    with torch.no_grad():
        d = critic_of_latent(z)
    half = z.shape[0] // 2
    slopes = (d[:half] - d.flip(0)[:half]).abs() / (z[:half] - z.flip(0)[:half]).norm(dim=1).clamp_min(1e-12)
    return float(slopes.max())


def dot_shift(z_y: torch.Tensor, critic_of_latent: Critic, k_eff: float, n_steps: int = 20,
              lr: float = 0.01) -> torch.Tensor:
    """argmin_z |z - z_y| - D(B(z)) / k_eff by Adam from z = z_y, for each latent of ``z_y: (C, d)``; (C, d).

    The objective is a sum over chains of per-chain terms, so one optimiser moves every chain independently.
    """
    z = z_y.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=lr)
    for _ in range(n_steps):
        optimiser.zero_grad()
        # + 1e-12 keeps the norm differentiable at the start z = z_y
        objective = ((z - z_y).pow(2).sum(1) + 1e-12).sqrt() - critic_of_latent(z) / k_eff
        objective.sum().backward()
        optimiser.step()
    return z.detach()
