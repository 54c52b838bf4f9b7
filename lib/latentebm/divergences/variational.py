"""Variational (critic-based) lower bounds on divergences, over a chosen critic class.

For an f-divergence (seed 001, "A lower-bound phi-divergence approximation"):

    D_phi(P, Q) >= sup_{V in H} E_P g(V) - E_Q phi*(g(V)),                          (1)

with g the divergence's output activation (so any real critic V is admissible), tight at g(V) = phi'(p/q).
For KL in the form KALE uses (seed 001, "KL Approximate Lower-bound Estimator"):

    KL(P, Q) >= sup_{f in H} -E_P f + 1 - E_Q exp(-f),   tight at f = -log(p/q).     (2)

Expectations are taken under a :class:`Measure`: samples with equal weights, or quadrature nodes with weights,
so the same code gives sample estimates and population values of the bound for a critic class.

Written once here and used by every KALE estimator on samples or quadrature (the smoothie's primal included):
:func:`kale_bound` (objective (2) on
energies E = f, with the constant c of the class E + R), :func:`dv_bound` (its Donsker-Varadhan form, (2)
maximised over c), :func:`kl_dual` (objective (2) at a critic under two measures) and :func:`fit_critic`
(full-batch L-BFGS or Adam on any such objective).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from latentebm.divergences.fdiv import FDivergence
from latentebm.guards import check_finite
from latentebm.ops import log_mean_exp


@dataclass(frozen=True)
class Measure:
    """Points ``(n, d)`` with probability weights ``(n,)`` (``None`` for the empirical measure)."""

    points: torch.Tensor
    weights: torch.Tensor | None = None

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """E[values] under the measure; values: (n,) -> scalar."""
        return weighted_mean(values, self.weights)

    def probabilities(self) -> torch.Tensor:
        """The weights ``(n,)`` in the points' dtype and device; 1/n each for the empirical measure."""
        n = self.points.shape[0]
        if self.weights is None:
            return torch.full((n,), 1.0 / n, dtype=self.points.dtype, device=self.points.device)
        return self.weights.to(self.points.dtype)

    def positive(self) -> Measure:
        """The same measure on its nodes of positive weight (a node of weight 0 carries no mass, but a solver
        that divides by the weights, as the smoothie's entropy term does, must not see it).

        Raises ValueError for non-finite points or weights, negative weights, or no mass at all.
        """
        if not bool(torch.isfinite(self.points).all()):
            raise ValueError("a Measure's points must be finite")
        if self.weights is None:
            return self
        weights = self.weights
        if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
            raise ValueError("a Measure's weights must be finite and non-negative")
        keep = weights > 0
        if not bool(keep.any()):
            raise ValueError("a Measure needs at least one node of positive weight")
        return self if bool(keep.all()) else Measure(self.points[keep], weights[keep])

    @staticmethod
    def from_density(grid: torch.Tensor, log_density: Callable[[torch.Tensor], torch.Tensor]) -> Measure:
        """Quadrature measure on a uniform 1-D grid ``(n,)``: weights prop. to the density, summing to 1.

        The nodes stay those of ``grid`` (so values computed on the grid can be averaged with :meth:`mean`);
        where the density underflows a weight is exactly 0, and :meth:`positive` drops such nodes.
        """
        weights = torch.exp(log_density(grid))
        total = weights.sum()
        if not bool(torch.isfinite(total)) or not total > 0:
            raise ValueError(f"the density has no finite positive mass on the grid (sum of weights {float(total)})")
        return Measure(grid.unsqueeze(-1), weights / total)


def f_dual(divergence: FDivergence, critic: Callable, p: Measure, q: Measure) -> torch.Tensor:
    """Objective (1): E_P g(V) - E_Q phi*(g(V)) for critic V (phi* o g in its numerically stable form)."""
    return p.mean(divergence.activation(critic(p.points))) - q.mean(divergence.conjugate_of_activation(
        critic(q.points)))


def weighted_mean(values: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """sum_i w_i values_i for probability weights w: (n,), or the plain mean when ``weights`` is None."""
    return values.mean() if weights is None else torch.sum(weights * values)


def kale_bound(e_p: torch.Tensor, e_q: torch.Tensor, c: torch.Tensor | float = 0.0,
               w_p: torch.Tensor | None = None, w_q: torch.Tensor | None = None) -> torch.Tensor:
    """Objective (2) written on energies: F(E, c) = -E_P[E + c] - E_Q[exp(-E - c)] + 1.

    ``e_p: (n,)`` and ``e_q: (m,)`` are E at P's and Q's points, ``w_p``/``w_q`` optional probability weights.
    The one KALE objective of the package: the critic fits of :mod:`.kale`, the smoothie's primal, the GEBM
    energy step and the energies of notebook 07 call it (the Gaussian closed forms and the vectorised grid search
    of :mod:`.gebm_gaussian` write it in their own shape). At its best c (c* = log E_Q exp(-E)) it equals
    :func:`dv_bound`.
    """
    return -weighted_mean(e_p + c, w_p) - weighted_mean(torch.exp(-e_q - c), w_q) + 1.0


def dv_bound(e_p: torch.Tensor, e_q: torch.Tensor) -> torch.Tensor:
    """The Donsker-Varadhan form -E_P E - log E_Q exp(-E) (empirical means): :func:`kale_bound` maximised over
    the constant c, i.e. the generalized log-likelihood of a GEBM at fixed E (up to -log of the base)."""
    return -e_p.mean() - log_mean_exp(-e_q)


def kl_dual(critic: Callable, p: Measure, q: Measure) -> torch.Tensor:
    """Objective (2): -E_P f + 1 - E_Q exp(-f) for critic f."""
    return kale_bound(critic(p.points), critic(q.points), 0.0, p.weights, q.weights)


@dataclass
class CriticFit:
    """The bound's value at the fitted critic, the critic itself (callable on new points), and the trace."""

    value: float
    critic: nn.Module
    trace: list[float]


def fit_critic(objective: Callable[[nn.Module], torch.Tensor], critic: nn.Module, steps: int = 200,
               optimiser: str = "lbfgs", lr: float = 1e-2, limit: float = 1e12) -> CriticFit:
    """Maximise ``objective(critic)`` over the critic's parameters, full batch.

    ``"lbfgs"`` (strong-Wolfe line search) suits the smooth, deterministic objectives here; ``"adam"`` takes
    ``steps`` plain steps (used where the supremum is infinite and the trace itself is the point).
    A non-finite objective, or one beyond ``limit`` in magnitude, stops Adam with a DivergenceError.
    """
    parameters = [p for p in critic.parameters() if p.requires_grad]
    trace: list[float] = []
    if optimiser == "lbfgs":
        opt = torch.optim.LBFGS(parameters, lr=1.0, max_iter=steps, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-10, tolerance_change=1e-14, history_size=50)

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = -objective(critic)
            loss.backward()
            trace.append(-loss.item())
            return loss

        opt.step(closure)
    elif optimiser == "adam":
        opt = torch.optim.Adam(parameters, lr=lr)
        for step in range(1, steps + 1):
            opt.zero_grad()
            value = objective(critic)
            (-value).backward()
            opt.step()
            check_finite(step, limit=limit, objective=value.item())
            trace.append(value.item())
    else:
        raise ValueError(f"optimiser must be 'lbfgs' or 'adam', got {optimiser!r}")
    with torch.no_grad():
        value = objective(critic).item()
    return CriticFit(value=value, critic=critic, trace=trace)
