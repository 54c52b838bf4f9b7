"""Langevin samplers over a potential U(z) on a batch of chains ``z: (C, d)``: ULA, MALA and kinetic Langevin
(KLA), with the chain states they share with HMC (:mod:`.hmc`).

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

Every sampler has the same shape: ``init(z, potential, rng) -> state`` and a pure
``step(state, potential, step_size, rng, **options) -> state`` over a named-tuple state; ``rng`` is an explicit
``torch.Generator`` (on the chains' device or the CPU), never the global stream. Find them by name in
:data:`latentebm.samplers.registry.SAMPLERS`, which also gives each one's gradient evaluations per step.

References:
[1] Roberts & Tweedie (1996), Exponential convergence of Langevin distributions and their discrete
    approximations. Bernoulli 2(4).
[2] Bussi & Parrinello (2007), Accurate sampling using Langevin dynamics. Phys. Rev. E 75.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from latentebm.runtime import require_rng
from latentebm.samplers.potentials import Potential, value_and_grad


class LangevinState(NamedTuple):
    """State of a batch of overdamped chains (ULA, MALA, HMC).

    z: (C, d) positions; u: (C,) U(z); grad: (C, d) grad U(z); n_accepted: (C,) accepted moves per chain;
    n_steps: steps taken; n_grad: gradient evaluations per chain so far (1 at the start: grad U(z_0)).
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


def init(z: torch.Tensor, potential: Potential, rng: torch.Generator | None = None) -> LangevinState:
    """Start overdamped chains (ULA, MALA, HMC) at ``z: (C, d)``; draws nothing, so ``rng`` is unused."""
    u, grad = value_and_grad(potential, z)
    return LangevinState(z.detach().clone(), u, grad, torch.zeros(z.shape[0], device=z.device))


def init_kinetic(z: torch.Tensor, potential: Potential, rng: torch.Generator | None) -> KineticState:
    """Start kinetic chains at ``z: (C, d)`` with velocities v ~ N(0, I) drawn from ``rng``."""
    u, grad = value_and_grad(potential, z)
    v = _normal_like(z, rng)
    return KineticState(z.detach().clone(), v, u, grad, torch.zeros(z.shape[0], device=z.device))


def _draw_device(like: torch.Tensor, rng: torch.Generator | None) -> torch.device:
    """Draw on ``rng``'s device (a CPU generator may drive chains on a GPU), then move to ``like``'s."""
    return require_rng(rng, "a Langevin step").device


def _normal_like(z: torch.Tensor, rng: torch.Generator | None) -> torch.Tensor:
    return torch.randn(z.shape, generator=rng, device=_draw_device(z, rng), dtype=z.dtype).to(z.device)


def _uniform(n: int, like: torch.Tensor, rng: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=rng, device=_draw_device(like, rng), dtype=like.dtype).to(like.device)


def ula_step(state: LangevinState, potential: Potential, step_size: float, rng: torch.Generator) -> LangevinState:
    """z' = z - h grad U(z) + sqrt(2h) xi, xi ~ N(0, I): Euler-Maruyama for the overdamped diffusion."""
    h = step_size
    z = state.z - h * state.grad + math.sqrt(2.0 * h) * _normal_like(state.z, rng)
    u, grad = value_and_grad(potential, z)
    return LangevinState(z, u, grad, state.n_accepted + 1, state.n_steps + 1, state.n_grad + 1)


def mala_log_proposal(z_to: torch.Tensor, z_from: torch.Tensor, grad_from: torch.Tensor,
                      step_size: float) -> torch.Tensor:
    """log q(z_to | z_from) = -|z_to - z_from + h grad U(z_from)|^2 / (4h) + const, ``(C, d) -> (C,)``."""
    return -(z_to - z_from + step_size * grad_from).pow(2).sum(1) / (4.0 * step_size)


def mala_step(state: LangevinState, potential: Potential, step_size: float, rng: torch.Generator) -> LangevinState:
    """A ULA proposal z*, accepted with probability min(1, nu(z*) q(z | z*) / (nu(z) q(z* | z))) per chain."""
    h = step_size
    proposal = state.z - h * state.grad + math.sqrt(2.0 * h) * _normal_like(state.z, rng)
    u_new, grad_new = value_and_grad(potential, proposal)
    log_ratio = (state.u - u_new + mala_log_proposal(state.z, proposal, grad_new, h)
                 - mala_log_proposal(proposal, state.z, state.grad, h))
    accept = torch.log(_uniform(len(log_ratio), log_ratio, rng)) < log_ratio  # NaN proposals are rejected
    keep = accept.unsqueeze(1)
    return LangevinState(torch.where(keep, proposal, state.z), torch.where(accept, u_new, state.u),
                         torch.where(keep, grad_new, state.grad), state.n_accepted + accept.to(state.n_accepted),
                         state.n_steps + 1, state.n_grad + 1)


def kla_step(state: KineticState, potential: Potential, step_size: float, rng: torch.Generator,
             friction: float = 1.0) -> KineticState:
    """One OBABO step of kinetic Langevin with friction gamma (``math.inf`` allowed: full velocity refresh).

    O: v <- a v + sqrt(1 - a^2) xi with a = exp(-gamma h / 2), exact for dv = -gamma v dt + sqrt(2 gamma) dW;
    B: v <- v - (h/2) grad U(z);  A: z <- z + h v;  B: v <- v - (h/2) grad U(z');  O again.
    """
    h = step_size
    a = math.exp(-friction * h / 2.0)
    noise = math.sqrt(1.0 - a * a)
    v = a * state.v + noise * _normal_like(state.v, rng)
    v = v - 0.5 * h * state.grad
    z = state.z + h * v
    u, grad = value_and_grad(potential, z)
    v = v - 0.5 * h * grad
    v = a * v + noise * _normal_like(v, rng)
    return KineticState(z, v, u, grad, state.n_accepted + 1, state.n_steps + 1, state.n_grad + 1)


def acceptance_rate(state) -> torch.Tensor:
    """Accepted moves / steps, per chain ``(C,)``, for any state with ``n_accepted`` and ``n_steps`` (1 for the
    unadjusted samplers)."""
    return state.n_accepted / max(state.n_steps, 1)
