"""KALE with a neural (or any parametric) critic class (seed 001, slide "The KALE divergence").

    KALE(P, Q; H) = sup_{f in H}  -E_P f(X) - E_Q exp(-f(Y)) + 1,                                   (K)

the KL dual (2) of :mod:`latentebm.divergences.variational` with the supremum restricted to a class H. With
H = all measurable functions it is KL(P, Q); over a smaller class it is a lower bound on KL that stays finite
on disjoint supports. Options of the class:

- L-Lipschitz critics: :class:`latentebm.models.critics.MLPCritic` with ``lipschitz=L`` uses **spectral
  normalisation** of every linear layer (power iteration) and 1-Lipschitz activations, times L;
  :func:`lipschitz_kale` builds one from a named random stream, fits it by Adam and reports the largest
  gradient norm it reaches on the samples (:func:`latentebm.ops.lipschitz_estimate`).
- A norm penalty: ``penalty = gamma`` maximises (K) - gamma/2 |theta|^2 over the critic's weights theta
  (biases excluded), the parametric analogue of the RKHS penalty of :mod:`.kale_rkhs`
  (:func:`penalised_kl_dual`; (K) itself is :func:`latentebm.divergences.variational.kl_dual`).

Expectations are under :class:`~latentebm.divergences.variational.Measure` (samples or quadrature).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from latentebm.divergences.variational import Measure, fit_critic, kl_dual
from latentebm.guards import check_finite
from latentebm.models.critics import MLPCritic
from latentebm.ops import lipschitz_estimate
from latentebm.runtime import Stream, initialised_from


@dataclass
class FitRecord:
    """Convergence record of a critic fit: the objective's trace and whether it had settled."""

    trace: list[float] = field(default_factory=list)
    optimiser: str = "lbfgs"
    converged: bool = False
    message: str = ""


@dataclass
class KALEResult:
    """``value``: (K) at the fitted critic (unpenalised); ``objective``: the penalised objective that was
    maximised; ``critic``: the fitted f, callable on new points (B, d) -> (B,); ``record``: convergence;
    ``max_slope``: the largest gradient norm of f over the points of P and Q, a lower bound on its Lipschitz
    constant (set by :func:`lipschitz_kale`, NaN otherwise)."""

    value: float
    objective: float
    critic: nn.Module
    record: FitRecord
    max_slope: float = math.nan


def weight_norm2(critic: nn.Module) -> torch.Tensor:
    """|theta|^2 over the weight matrices (parameters named ``*weight*``; spectral-norm originals included)."""
    return sum((p.square().sum() for name, p in critic.named_parameters() if "weight" in name),
               torch.zeros((), dtype=torch.get_default_dtype()))


def penalised_kl_dual(critic: nn.Module, p: Measure, q: Measure, penalty: float = 0.0) -> torch.Tensor:
    """(K) at ``critic`` (:func:`~latentebm.divergences.variational.kl_dual`), minus penalty/2 |theta|^2 over
    its weights when ``penalty > 0``."""
    value = kl_dual(critic, p, q)
    return value - 0.5 * penalty * weight_norm2(critic) if penalty > 0 else value


def _settled(trace: list[float], rtol: float) -> bool:
    """The mean of the last tenth of the trace moved less than rtol * max(1, |value|) from the tenth before."""
    k = max(len(trace) // 10, 1)
    if len(trace) < 2 * k:
        return False
    last, before = sum(trace[-k:]) / k, sum(trace[-2 * k:-k]) / k
    return abs(last - before) < rtol * max(1.0, abs(last))


def neural_kale(p: Measure, q: Measure, critic: nn.Module, steps: int = 200, optimiser: str = "lbfgs",
                lr: float = 1e-2, penalty: float = 0.0, rtol: float = 1e-3) -> KALEResult:
    """Fit ``critic`` to maximise (K) (minus the optional norm penalty) on p, q; return value, critic, record.

    ``"lbfgs"`` suits smooth unconstrained classes; use ``"adam"`` with spectrally normalised critics (the power
    iteration changes the function between closure calls, which confuses a line search).
    """
    fit = fit_critic(lambda c: penalised_kl_dual(c, p, q, penalty), critic, steps=steps, optimiser=optimiser, lr=lr)
    with torch.no_grad():
        value = kl_dual(critic, p, q).item()
    check_finite(len(fit.trace), limit=float("inf"), objective=value)
    record = FitRecord(trace=fit.trace, optimiser=optimiser, converged=_settled(fit.trace, rtol))
    if not record.converged:
        record.message = f"objective still moving after {steps} {optimiser} steps (rtol {rtol:g})"
    return KALEResult(value=value, objective=fit.value, critic=critic, record=record)


def lipschitz_kale(p: Measure, q: Measure, lipschitz: float, rng: Stream | torch.Generator, steps: int = 300,
                   hidden: int = 32, depth: int = 2, lr: float = 1e-2) -> KALEResult:
    """KALE over ``lipschitz``-Lipschitz critics: a spectrally normalised ReLU MLP (``hidden`` wide, ``depth``
    hidden layers) initialised from ``rng``, fitted by ``steps`` Adam steps at rate ``lr`` on p, q.

    The result's ``max_slope`` is the fitted critic's largest gradient norm over the points of p and q: the
    Lipschitz bound as spectral normalisation actually enforced it. The critic lives on p's device.
    """
    dim = p.points.shape[-1]
    with initialised_from(rng):
        critic = MLPCritic(dim, hidden, depth, activation=nn.ReLU, lipschitz=lipschitz)
    critic = critic.to(device=p.points.device, dtype=p.points.dtype)
    result = neural_kale(p, q, critic, steps=steps, optimiser="adam", lr=lr)
    result.max_slope = lipschitz_estimate(critic, torch.cat([p.points, q.points]))
    return result
