"""Closed forms and quadrature for divergences between one-dimensional Gaussians P = N(mu_p, s_p^2) and
Q = N(mu_q, s_q^2), the reference values the variational estimators are checked against."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from latentebm.divergences.fdiv import FDivergence, get
from latentebm.ops import standard_normal_log_prob


@dataclass(frozen=True)
class Gaussian1D:
    mean: float
    std: float

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log N(x; mean, std^2) elementwise; x: (...) -> (...)."""
        return standard_normal_log_prob(((x - self.mean) / self.std).unsqueeze(-1)) - math.log(self.std)

    def sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """(n, 1) float64 samples drawn from ``rng``."""
        return self.mean + self.std * torch.randn(n, 1, generator=rng, dtype=torch.float64)


def kl(p: Gaussian1D, q: Gaussian1D) -> float:
    """KL(P, Q) = log(s_q/s_p) + (s_p^2 + (mu_p - mu_q)^2) / (2 s_q^2) - 1/2."""
    return math.log(q.std / p.std) + (p.std**2 + (p.mean - q.mean) ** 2) / (2 * q.std**2) - 0.5


def squared_hellinger(p: Gaussian1D, q: Gaussian1D) -> float:
    """int (sqrt p - sqrt q)^2 = 2 (1 - BC), BC = sqrt(2 s_p s_q / (s_p^2 + s_q^2)) exp(-d^2 / (4 (s_p^2 + s_q^2)))."""
    var_sum = p.std**2 + q.std**2
    bc = math.sqrt(2 * p.std * q.std / var_sum) * math.exp(-((p.mean - q.mean) ** 2) / (4 * var_sum))
    return 2 * (1 - bc)


def pearson(p: Gaussian1D, q: Gaussian1D) -> float:
    """int p^2/q - 1 = s_q^2 / (s_p sqrt(2 s_q^2 - s_p^2)) exp(d^2 / (2 s_q^2 - s_p^2)) - 1; inf if 2 s_q^2 <= s_p^2."""
    denom = 2 * q.std**2 - p.std**2
    if denom <= 0:
        return math.inf
    return q.std**2 / (p.std * math.sqrt(denom)) * math.exp((p.mean - q.mean) ** 2 / denom) - 1


def total_variation_equal_variance(p: Gaussian1D, q: Gaussian1D) -> float:
    """TV = 2 Phi(|d| / (2 s)) - 1 when s_p = s_q = s (TV here is sup_A |P(A) - Q(A)|)."""
    if not math.isclose(p.std, q.std):
        raise ValueError("closed form needs equal variances")
    return math.erf(abs(p.mean - q.mean) / (2 * p.std) / math.sqrt(2))


def closed_form(name: str, p: Gaussian1D, q: Gaussian1D) -> float | None:
    """The divergence in closed form where one exists for this pair, else None (use quadrature)."""
    if name == "kl":
        return kl(p, q)
    if name == "reverse_kl":
        return kl(q, p)
    if name == "squared_hellinger":
        return squared_hellinger(p, q)
    if name == "pearson":
        return pearson(p, q)
    if name == "total_variation" and math.isclose(p.std, q.std):
        return total_variation_equal_variance(p, q)
    return None


def quadrature_grid(p: Gaussian1D, q: Gaussian1D, n: int = 20001, width: float = 14.0) -> torch.Tensor:
    """A uniform grid covering both densities to ``width`` standard deviations. (n,) float64."""
    lo = min(p.mean - width * p.std, q.mean - width * q.std)
    hi = max(p.mean + width * p.std, q.mean + width * q.std)
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def by_quadrature(divergence: FDivergence | str, log_p, log_q, grid: torch.Tensor) -> float:
    """int q phi(p/q) dx by the trapezoid rule on ``grid``, with log densities given as callables."""
    divergence = get(divergence) if isinstance(divergence, str) else divergence
    integrand = divergence.perspective(log_p(grid), log_q(grid))
    return torch.trapezoid(integrand, grid).item()
