"""Langevin samplers over a potential U(z) on a batch of chains ``z: (C, d)``: ULA, MALA and kinetic Langevin.

Each is a discretisation of a diffusion whose stationary law is nu(z) ∝ exp(-U(z)) (seed 001, "Sample
z ~ nu_{B,E} via Langevin diffusion-derived algorithms"):

- overdamped Langevin  dz = -grad U(z) dt + sqrt(2) dW.  Euler-Maruyama with step h is ULA,
  z' = z - h grad U(z) + sqrt(2h) xi  [1]; its stationary law is biased by O(h).
- MALA: the ULA move as a proposal, corrected by a Metropolis-Hastings test, so nu is exactly invariant [1].
- underdamped (kinetic) Langevin with friction gamma and unit mass
      dz = v dt,   dv = -grad U(z) dt - gamma v dt + sqrt(2 gamma) dW.
  KLA here is the OBABO splitting [2]: an exact Ornstein-Uhlenbeck half step on v (O), a half kick (B), a
  drift (A), a half kick, an O half step. One gradient per step. As gamma -> inf the O step redraws v ~ N(0, I)
  and one KLA step of size h is exactly one ULA step of size h^2 / 2.

Every step is a pure function ``step(state, potential, step_size, generator, ...) -> state``; the random
stream is the explicit ``torch.Generator`` (on the chains' device).

References:
[1] Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their discrete
    approximations. Bernoulli 2(4).
[2] Bussi & Parrinello (2007), Accurate sampling using Langevin dynamics. Phys. Rev. E 75.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from latentebm.samplers.potentials import Potential, value_and_grad


class LangevinState(NamedTuple):
    """State of a batch of overdamped chains.

    z: (C, d) positions; u: (C,) U(z); grad: (C, d) grad U(z); n_accepted: (C,) accepted moves per chain;
    n_steps: steps taken; n_grad: gradient evaluations per chain so far.
    """

    z: torch.Tensor
    u: torch.Tensor
    grad: torch.Tensor
    n_accepted: torch.Tensor
    n_steps: int = 0
    n_grad: int = 1


class KineticState(NamedTuple):
    """State of a batch of underdamped chains: as :class:`LangevinState` plus velocities ``v: (C, d)``."""

    z: torch.Tensor
    v: torch.Tensor
    u: torch.Tensor
    grad: torch.Tensor
    n_accepted: torch.Tensor
    n_steps: int = 0
    n_grad: int = 1


def init(z: torch.Tensor, potential: Potential) -> LangevinState:
    """Start overdamped chains (ULA, MALA, HMC, IMH) at ``z: (C, d)``."""
    u, grad = value_and_grad(potential, z)
    return LangevinState(z.detach().clone(), u, grad, torch.zeros(z.shape[0], device=z.device))


def init_kinetic(z: torch.Tensor, potential: Potential, generator: torch.Generator) -> KineticState:
    """Start kinetic chains at ``z: (C, d)`` with velocities v ~ N(0, I)."""
    u, grad = value_and_grad(potential, z)
    v = _normal_like(z, generator)
    return KineticState(z.detach().clone(), v, u, grad, torch.zeros(z.shape[0], device=z.device))


def _draw_device(like: torch.Tensor, generator: torch.Generator | None) -> torch.device:
    """Draw on the generator's device (a CPU generator may drive chains on a GPU), then move to ``like``'s."""
    return generator.device if generator is not None else like.device


def _normal_like(z: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(z.shape, generator=generator, device=_draw_device(z, generator), dtype=z.dtype).to(z.device)


def _uniform(n: int, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=_draw_device(like, generator), dtype=like.dtype).to(like.device)


def ula_step(state: LangevinState, potential: Potential, step_size: float,
             generator: torch.Generator) -> LangevinState:
    """z' = z - h grad U(z) + sqrt(2h) xi, xi ~ N(0, I): Euler-Maruyama for the overdamped diffusion."""
    h = step_size
    z = state.z - h * state.grad + math.sqrt(2.0 * h) * _normal_like(state.z, generator)
    u, grad = value_and_grad(potential, z)
    return LangevinState(z, u, grad, state.n_accepted + 1, state.n_steps + 1, state.n_grad + 1)


def mala_log_proposal(z_to: torch.Tensor, z_from: torch.Tensor, grad_from: torch.Tensor,
                      step_size: float) -> torch.Tensor:
    """log q(z_to | z_from) = -|z_to - z_from + h grad U(z_from)|^2 / (4h) + const, ``(C, d) -> (C,)``."""
    return -(z_to - z_from + step_size * grad_from).pow(2).sum(1) / (4.0 * step_size)


def mala_step(state: LangevinState, potential: Potential, step_size: float,
              generator: torch.Generator) -> LangevinState:
    """A ULA proposal z*, accepted with probability min(1, nu(z*) q(z | z*) / (nu(z) q(z* | z))) per chain."""
    h = step_size
    proposal = state.z - h * state.grad + math.sqrt(2.0 * h) * _normal_like(state.z, generator)
    u_new, grad_new = value_and_grad(potential, proposal)
    log_ratio = (state.u - u_new + mala_log_proposal(state.z, proposal, grad_new, h)
                 - mala_log_proposal(proposal, state.z, state.grad, h))
    accept = torch.log(_uniform(len(log_ratio), log_ratio, generator)) < log_ratio  # NaN proposals are rejected
    keep = accept.unsqueeze(1)
    return LangevinState(torch.where(keep, proposal, state.z), torch.where(accept, u_new, state.u),
                         torch.where(keep, grad_new, state.grad), state.n_accepted + accept.to(state.n_accepted),
                         state.n_steps + 1, state.n_grad + 1)


def kla_step(state: KineticState, potential: Potential, step_size: float, generator: torch.Generator,
             friction: float = 1.0) -> KineticState:
    """One OBABO step of kinetic Langevin with friction gamma (``math.inf`` allowed: full velocity refresh).

    O: v <- a v + sqrt(1 - a^2) xi with a = exp(-gamma h / 2), exact for dv = -gamma v dt + sqrt(2 gamma) dW;
    B: v <- v - (h/2) grad U(z);  A: z <- z + h v;  B: v <- v - (h/2) grad U(z');  O again.
    """
    h = step_size
    a = math.exp(-friction * h / 2.0)
    noise = math.sqrt(1.0 - a * a)
    v = a * state.v + noise * _normal_like(state.v, generator)
    v = v - 0.5 * h * state.grad
    z = state.z + h * v
    u, grad = value_and_grad(potential, z)
    v = v - 0.5 * h * grad
    v = a * v + noise * _normal_like(v, generator)
    return KineticState(z, v, u, grad, state.n_accepted + 1, state.n_steps + 1, state.n_grad + 1)


def acceptance_rate(state: LangevinState | KineticState) -> torch.Tensor:
    """Accepted moves / steps, per chain ``(C,)`` (1 for the unadjusted samplers)."""
    return state.n_accepted / max(state.n_steps, 1)
