"""A minimal latent Langevin sampler for a GEBM (seed 001, "Sampling from the model").

Target: the latent posterior nu(z) ∝ eta(z) exp(-beta E(B(z))), i.e. potential U(z) = |z|^2/2 + beta E(B(z));
then x = B(z) is a sample of the (tempered) GEBM. Unadjusted Langevin (ULA):

    z' = z - s grad U(z) + sqrt(2 s) xi,   xi ~ N(0, I).

The state is explicit and the randomness is passed in; the samplers notebook builds the fuller set
(kinetic Langevin, MALA, step-size schedules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch


class LangevinState(NamedTuple):
    """z: (B, k) current latents; potential: (B,) U(z); step: number of steps taken."""

    z: torch.Tensor
    potential: torch.Tensor
    step: int


GradFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""z: (B, k) -> (U(z): (B,), grad U(z): (B, k)), e.g. ``partial(models.gebm.latent_potential_grad, G, E,
beta=...)``."""


def init(z: torch.Tensor, potential_and_grad: GradFn) -> LangevinState:
    u, _ = potential_and_grad(z)
    return LangevinState(z.detach(), u, 0)


def step(state: LangevinState, potential_and_grad: GradFn, step_size: float, rng: torch.Generator) -> LangevinState:
    """One ULA step from ``state``; noise drawn from ``rng`` (on the CPU, then moved to z's device)."""
    _, grad = potential_and_grad(state.z)
    noise = torch.randn(state.z.shape, generator=rng, dtype=state.z.dtype).to(state.z.device)
    z = state.z - step_size * grad + (2.0 * step_size) ** 0.5 * noise
    u, _ = potential_and_grad(z)
    return LangevinState(z.detach(), u, state.step + 1)


def run(z0: torch.Tensor, potential_and_grad: GradFn, step_size: float, n_steps: int,
        rng: torch.Generator) -> LangevinState:
    """``n_steps`` ULA steps from z0: (B, k); returns the final state."""
    state = init(z0, potential_and_grad)
    for _ in range(n_steps):
        state = step(state, potential_and_grad, step_size, rng)
    return state
