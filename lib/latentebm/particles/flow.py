"""Particle flows as one step function over an explicit state, like the samplers.

``state = init(y)``, then ``state = step(state, rule, step_size, rng)``; ``rule`` says what moves the particles:

- :class:`MMDFlow` (seed 001, post-credit slide): the Euler step y <- y - gamma grad f_{mu,nu_n}(y) of the MMD flow
  (:mod:`.witness`), with its two noisy variants selected by ``mode`` and scaled by ``noise`` (beta_n, :mod:`.noise`):

  - ``"injection"`` (Arbel et al. 2019): y <- y - gamma grad f_{mu,nu_n}(y + beta_n u), u ~ N(0, I) fresh for each
    particle and step. The witness is built from the clean particles nu_n; only the point where its gradient is
    read is perturbed. With sum beta_n^2 = infinity the paper shows convergence to the global minimum F = 0.
  - ``"diffusion"``: y <- y - gamma grad f_{mu,nu_n}(y) + sqrt(2 gamma) beta_n u, the Euler-Maruyama step of
    dY = -grad f dt + sqrt(2) beta dW: the noise goes into the particles themselves. A stationary law would minimise
    F + beta^2 int nu log nu; on R^d with a bounded kernel that free energy is unbounded below (F stays in [0, 1]
    while the entropy term falls as mass spreads), so there is none: particles beyond the kernel's reach random-walk
    away, and the flow does not converge to mu.

- :class:`KALEFlow` (Glaser, Arbel & Gretton, NeurIPS 2021): the gradient flow of the RKHS-penalised KALE(mu || nu)
  (:mod:`latentebm.divergences.kale_rkhs`). By the envelope theorem the first variation in nu of
  (1 + lambda) F_lambda(mu, nu) is -(1 + lambda) exp(-f*), f* the optimal critic, so the particles move with
  velocity (1 + lambda) grad exp(-f*)(y) = -(1 + lambda) exp(-f*(y)) grad f*(y). At the optimum
  exp(-f*(y_j)) = m alpha_j (the dual's optimality condition), which is what is used. As lambda -> infinity,
  f* ~ f_{mu,nu} / lambda and the velocity tends to the MMD flow's -grad f_{mu,nu}.

A step is a pure function of (state, rule, step size, draws); the KALE flow's warm start (``state.alpha``) changes
how fast its solve converges, not what it returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from latentebm.divergences.kale_rkhs import kale_smoothie
from latentebm.divergences.variational import Measure
from latentebm.particles.noise import NoiseSchedule
from latentebm.particles.witness import kernel_gradient, witness_gradient

MODES = ("injection", "diffusion")


class FlowState(NamedTuple):
    """Particles ``y: (m, d)``, the steps taken, the flow time (the sum of the step sizes), and for the KALE flow
    the last step's dual coefficients ``alpha: (m,)`` (a warm start only: the next solve's optimum does not depend
    on it)."""

    y: torch.Tensor
    n_steps: int = 0
    time: float = 0.0
    alpha: torch.Tensor | None = None


@dataclass(frozen=True)
class MMDFlow:
    """The MMD flow toward the empirical target ``x: (n, d)`` with a Gaussian kernel of width ``bandwidth``."""

    x: torch.Tensor
    bandwidth: float
    noise: NoiseSchedule = field(default_factory=NoiseSchedule)
    mode: str = "injection"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not self.bandwidth > 0:
            raise ValueError(f"bandwidth must be > 0, got {self.bandwidth}")


@dataclass(frozen=True)
class KALEFlow:
    """The KALE flow toward ``x: (n, d)``: RKHS penalty ``penalty`` (lambda), Gaussian kernel ``bandwidth``."""

    x: torch.Tensor
    bandwidth: float
    penalty: float

    def velocity(self, y: torch.Tensor, init: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(-(1 + lambda) exp(-f*(y)) grad f*(y) at the particles, the solve's alpha); ``init`` warm-starts."""
        critic = kale_smoothie(Measure(self.x), Measure(y), self.penalty, self.bandwidth, init=init).critic
        grad_f = (kernel_gradient(y, critic.y, critic.alpha, self.bandwidth)
                  - kernel_gradient(y, critic.x, critic.w, self.bandwidth)) / self.penalty
        exp_minus_f = y.shape[0] * critic.alpha  # exp(-f*(y_j)) = alpha_j / v_j at the optimum
        return -(1.0 + self.penalty) * exp_minus_f[:, None] * grad_f, critic.alpha


def init(y: torch.Tensor) -> FlowState:
    """Start a flow at the particles ``y: (m, d)`` (copied)."""
    return FlowState(y.detach().clone())


def _normal(like: torch.Tensor, rng: torch.Generator | None) -> torch.Tensor:
    if rng is None:
        raise ValueError("a noisy flow step needs an explicit torch.Generator")
    return torch.randn(like.shape, generator=rng, dtype=like.dtype, device=rng.device).to(like.device)


def mmd_velocity(state: FlowState, rule: MMDFlow, rng: torch.Generator | None = None) -> torch.Tensor:
    """The MMD flow's drift at ``state``: -grad f_{mu,nu_n}, read at the perturbed points under noise injection
    (the witness always from the clean particles)."""
    y = state.y
    beta = rule.noise(state.n_steps)
    where = y + beta * _normal(y, rng) if rule.mode == "injection" and beta > 0 else y
    return -witness_gradient(where, rule.x, y, rule.bandwidth)


def step(state: FlowState, rule: MMDFlow | KALEFlow, step_size: float,
         rng: torch.Generator | None = None) -> FlowState:
    """One Euler step of ``rule``'s flow of size ``step_size`` (draws, if any, from ``rng``)."""
    if isinstance(rule, KALEFlow):
        drift, alpha = rule.velocity(state.y, state.alpha)
        return FlowState(state.y + step_size * drift, state.n_steps + 1, state.time + step_size, alpha)
    y = state.y + step_size * mmd_velocity(state, rule, rng)
    beta = rule.noise(state.n_steps)
    if rule.mode == "diffusion" and beta > 0:
        y = y + math.sqrt(2.0 * step_size) * beta * _normal(y, rng)
    return FlowState(y, state.n_steps + 1, state.time + step_size)
