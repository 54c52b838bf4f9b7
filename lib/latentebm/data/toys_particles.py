"""Targets and starts for the particle-flow notebook (09), generated from the torch generator ``rng`` given.

The three-ring target follows the geometry of the KALE-flow authors' toy (Glaser, Arbel & Gretton 2021, repository
pierreglaser/kale-flow, ``three_rings``): rings of radius 0.3 whose centres are 0.75 apart on a line, 80 points
each. Points on a ring are drawn at uniform random angles (float64).
"""

from __future__ import annotations

import math

import torch


def ring_centres(n_rings: int, spacing: float) -> torch.Tensor:
    """Centres of ``n_rings`` rings on the x-axis, ``spacing`` apart and centred on 0: (R, 2)."""
    offsets = (torch.arange(n_rings, dtype=torch.float64) - (n_rings - 1) / 2) * spacing
    return torch.stack([offsets, torch.zeros_like(offsets)], dim=1)


def rings(n_per_ring: int, radius: float, centres: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """``n_per_ring`` points uniform on each circle of ``radius`` about ``centres`` (R, 2): (R n, 2)."""
    angle = 2 * math.pi * torch.rand(centres.shape[0], n_per_ring, generator=rng, dtype=torch.float64)
    ring = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1) * radius + centres[:, None, :]
    return ring.reshape(-1, 2)


def blob(n: int, centre: tuple[float, float], std: float, rng: torch.Generator) -> torch.Tensor:
    """n points from N(centre, std^2 I_2): the particles' start. (n, 2)."""
    return torch.tensor(centre, dtype=torch.float64) + std * torch.randn(n, 2, generator=rng, dtype=torch.float64)


def ring_distances(y: torch.Tensor, centres: torch.Tensor, radius: float) -> torch.Tensor:
    """| |y - c_r| - radius |: each point's distance to each ring, (m, R)."""
    return (torch.cdist(y, centres) - radius).abs()


def occupancy(y: torch.Tensor, centres: torch.Tensor, radius: float, tolerance: float) -> tuple[float, list[float]]:
    """(share of particles within ``tolerance`` of some ring, share within ``tolerance`` of each ring).
    A ring of the target holds 1 / R of its mass: a fitted flow has every share near 1 / R."""
    near = ring_distances(y, centres, radius) < tolerance
    return float(near.any(dim=1).double().mean()), near.double().mean(dim=0).tolist()


def stranded(y: torch.Tensor, x: torch.Tensor, distance: float) -> torch.Tensor:
    """Mask (m,) of the particles ``y`` farther than ``distance`` from every target point of ``x`` (at 3 sigma a
    Gaussian kernel is down to exp(-4.5) = 0.011)."""
    return torch.cdist(y, x).min(dim=1).values > distance
