"""Langevin samplers as pure steps over an explicit state: the unadjusted algorithm (ULA) and its
Metropolis-adjusted version (MALA). Used for the GEBM's posterior latent nu(z) ∝ eta(z) exp(-E(B(z)))
(seed 001, "Sampling from the model") and inside annealed importance sampling.

For a potential U (target ∝ exp(-U)) and step size gamma:

    ULA:   z' = z - gamma grad U(z) + sqrt(2 gamma) xi,   xi ~ N(0, I);
    MALA:  propose z' as in ULA, accept with probability
           min(1, exp(-U(z') + U(z) - log k(z | z') + log k(z' | z))),  k(b | a) = N(b; a - gamma grad U(a), 2 gamma I).

``potential(z: (B, d)) -> (B,)``; randomness comes from the ``torch.Generator`` passed in.
References: Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their discrete
approximations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

Potential = Callable[[torch.Tensor], torch.Tensor]


class LangevinState(NamedTuple):
    """Chains ``z: (B, d)``, their potential ``u: (B,)`` and its gradient ``grad: (B, d)``; ``accepted: (B,)``
    counts accepted MALA moves (ULA moves always count)."""

    z: torch.Tensor
    u: torch.Tensor
    grad: torch.Tensor
    accepted: torch.Tensor


def potential_and_grad(potential: Potential, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(U(z), grad U(z)) detached; the graph of U is built only for the gradient. z: (B, d)."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        u = potential(z)
        (grad,) = torch.autograd.grad(u.sum(), z)
    return u.detach(), grad.detach()


def init(potential: Potential, z: torch.Tensor) -> LangevinState:
    u, grad = potential_and_grad(potential, z)
    return LangevinState(z.detach(), u, grad, torch.zeros(z.shape[0], dtype=z.dtype, device=z.device))


def _noise(z: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(z.shape, generator=generator, dtype=z.dtype, device=z.device)


def ula_step(state: LangevinState, potential: Potential, step_size: float,
             generator: torch.Generator | None) -> LangevinState:
    """One unadjusted Langevin move of every chain."""
    z = state.z - step_size * state.grad + (2 * step_size) ** 0.5 * _noise(state.z, generator)
    u, grad = potential_and_grad(potential, z)
    return LangevinState(z, u, grad, state.accepted + 1)


def _log_proposal(to: torch.Tensor, frm: torch.Tensor, grad_frm: torch.Tensor, step_size: float) -> torch.Tensor:
    """log k(to | frm) up to a constant that cancels in the MALA ratio; (B,)."""
    return -((to - frm + step_size * grad_frm) ** 2).sum(-1) / (4 * step_size)


def mala_step(state: LangevinState, potential: Potential, step_size: float,
              generator: torch.Generator | None) -> LangevinState:
    """One Metropolis-adjusted Langevin move of every chain (leaves exp(-U) invariant)."""
    proposal = state.z - step_size * state.grad + (2 * step_size) ** 0.5 * _noise(state.z, generator)
    u_new, grad_new = potential_and_grad(potential, proposal)
    log_ratio = (state.u - u_new + _log_proposal(state.z, proposal, grad_new, step_size)
                 - _log_proposal(proposal, state.z, state.grad, step_size))
    uniform = torch.rand(state.u.shape, generator=generator, dtype=state.u.dtype, device=state.u.device)
    accept = torch.log(uniform) < log_ratio
    keep = accept.unsqueeze(-1)
    return LangevinState(torch.where(keep, proposal, state.z), torch.where(accept, u_new, state.u),
                         torch.where(keep, grad_new, state.grad), state.accepted + accept.to(state.u.dtype))
