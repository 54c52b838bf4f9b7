"""A learned 2-D density normalised exactly on a grid, and the KL divergence and samples it gives (notebook 10:
the anatomy paper's toy EBMs, p_theta(x) = exp(-U_theta(x)) / Z, whose Z no sampler estimates here).

On the midpoint grid of :func:`latentebm.metrics.quadrature.grid_and_boxes` (cells of area ``dA`` on
``[-h, h]^2``), the density restricted to the square is

    log p(g) = -U(g) - log sum_g' exp(-U(g')) dA,

exact up to the quadrature error of a smooth density and the mass outside the square (the truncated model).
KL(p || q) = sum_g p(g) (log p(g) - log q(g)) dA for two densities on the same grid.
"""

from __future__ import annotations

import math

import torch

from latentebm.metrics.quadrature import Grid, grid_and_boxes


def square_grid(half_width: float, cells: int, dtype: torch.dtype = torch.float64) -> Grid:
    """The ``cells x cells`` midpoint grid on ``[-half_width, half_width]^2``."""
    return grid_and_boxes(cells, half_width, boxes=1, dtype=dtype)


def normalised_log_density(neg_energy: torch.Tensor, cell_area: float) -> torch.Tensor:
    """log p on the grid from the unnormalised log-density -U at the cell centres, along the last axis:
    ``(..., G) -> (..., G)`` with sum exp(log p) dA = 1."""
    neg_energy = neg_energy.to(torch.float64)
    return neg_energy - torch.logsumexp(neg_energy, dim=-1, keepdim=True) - math.log(cell_area)


def log_normaliser(neg_energy: torch.Tensor, cell_area: float) -> torch.Tensor:
    """log Z = log sum_g exp(-U(g)) dA along the last axis."""
    return torch.logsumexp(neg_energy.to(torch.float64), dim=-1) + math.log(cell_area)


def kl_on_grid(log_p: torch.Tensor, log_q: torch.Tensor, cell_area: float) -> torch.Tensor:
    """KL(p || q) = sum p (log p - log q) dA along the last axis (cells where p underflows to 0 add 0)."""
    p = log_p.exp()
    return torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p)).sum(-1) * cell_area


def sample_grid(log_p: torch.Tensor, grid: Grid, n: int, rng: torch.Generator) -> torch.Tensor:
    """n exact draws from the grid density ``log_p: (G,)``: a cell by its mass, then a uniform point in the cell."""
    cell = torch.multinomial(log_p.exp(), n, replacement=True, generator=rng)
    side = math.sqrt(grid.cell_area)
    jitter = (torch.rand(n, 2, generator=rng, dtype=grid.points.dtype) - 0.5) * side
    return grid.points[cell] + jitter
