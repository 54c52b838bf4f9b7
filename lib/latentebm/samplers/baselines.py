"""The two baselines of the GEBM paper's relative-FID table: independent Metropolis-Hastings (IMH) with the base
as proposal, and discriminator optimal transport (DOT), a deterministic gradient shift of the latent.

IMH. The target nu_beta(z) ∝ eta(z) exp(-beta E(B(z))) has density ratio w(z) = exp(-beta E(B(z))) to the
proposal eta, so a fresh z* ~ eta is accepted with probability min(1, w(z*) / w(z)) [1]. Exact, gradient free,
but it only re-weights what the base proposes.

DOT [2]. For z_y ~ eta, move to argmin_z |z - z_y|_2 - D(B(z)) / k_eff, with the critic D = -E and k_eff an
estimate of the Lipschitz constant of D o B (the largest slope over random pairs of latents); solved by a few
Adam steps on z. It transports the base toward where the critic is high, with no noise.

References:
[1] Tierney (1994), Markov chains for exploring posterior distributions. Ann. Statist. 22(4).
[2] Tanaka (2019), Discriminator optimal transport. NeurIPS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

LogWeight = Callable[[torch.Tensor], torch.Tensor]


class IMHState(NamedTuple):
    """z: (C, d) current latents; log_w: (C,) log w(z) = -beta E(B(z)); n_accepted: (C,); n_steps."""

    z: torch.Tensor
    log_w: torch.Tensor
    n_accepted: torch.Tensor
    n_steps: int = 0


def energy_log_weight(generator: Callable[[torch.Tensor], torch.Tensor],
                      energy: Callable[[torch.Tensor], torch.Tensor], beta: float = 1.0) -> LogWeight:
    """log w(z) = -beta E(B(z)), ``(C, d) -> (C,)``, evaluated without gradients."""

    def log_weight(z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return -beta * energy(generator(z)).reshape(z.shape[0])

    return log_weight


def imh_init(z: torch.Tensor, log_weight: LogWeight) -> IMHState:
    return IMHState(z.detach().clone(), log_weight(z), torch.zeros(z.shape[0], device=z.device))


def imh_step(state: IMHState, log_weight: LogWeight, generator: torch.Generator) -> IMHState:
    """Propose z* ~ N(0, I) independently of z; accept per chain with probability min(1, w(z*) / w(z))."""
    z = state.z
    proposal = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    log_w_new = log_weight(proposal)
    u = torch.rand(z.shape[0], generator=generator, device=z.device, dtype=z.dtype)
    accept = torch.log(u) < log_w_new - state.log_w
    return IMHState(torch.where(accept.unsqueeze(1), proposal, z), torch.where(accept, log_w_new, state.log_w),
                    state.n_accepted + accept.to(state.n_accepted), state.n_steps + 1)


def imh_run(z: torch.Tensor, log_weight: LogWeight, n_steps: int, generator: torch.Generator) -> IMHState:
    state = imh_init(z, log_weight)
    for _ in range(n_steps):
        state = imh_step(state, log_weight, generator)
    return state


def lipschitz_estimate(critic_of_latent: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> float:
    """k_eff = max_i |D(B(z_i)) - D(B(z'_i))| / |z_i - z'_i| over the pairs (z_i, z'_i) = (z[i], z[-1 - i])."""
    with torch.no_grad():
        d = critic_of_latent(z)
    half = z.shape[0] // 2
    slopes = (d[:half] - d.flip(0)[:half]).abs() / (z[:half] - z.flip(0)[:half]).norm(dim=1).clamp_min(1e-12)
    return float(slopes.max())


def dot_shift(z_y: torch.Tensor, critic_of_latent: Callable[[torch.Tensor], torch.Tensor], k_eff: float,
              n_steps: int = 20, lr: float = 0.01) -> torch.Tensor:
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
