"""Toy data for the GEBM notebooks (seed 001; REFERENCE.md "Toy settings"): distributions supported on
low-dimensional manifolds with non-uniform mass, where a generator can get the support, an EBM with a density
gets the mass but blurs, and a GEBM can get both. Each returns float32 ``x: (n, D)`` and the manifold coordinate
``s: (n,)`` that carries the mass (used to measure whether the mass is right).
"""

from __future__ import annotations

import math

import torch


def curve_coordinate(n: int, rng: torch.Generator) -> torch.Tensor:
    """t in [0, 1]: 3/5 of the mass in a bump at t = 0.2 (sd 0.06), 1/5 in a bump at 0.75 (sd 0.04), 1/5 uniform."""
    which = torch.rand(n, generator=rng)
    normal = torch.randn(n, generator=rng)
    uniform = torch.rand(n, generator=rng)
    t = torch.where(which < 0.6, 0.2 + 0.06 * normal, torch.where(which < 0.8, 0.75 + 0.04 * normal, uniform))
    return t.clamp(0.0, 1.0)


def curve_point(t: torch.Tensor) -> torch.Tensor:
    """The curve: a spiral arc, radius 1 + t, angle 1.5 pi t; t: (n,) -> (n, 2)."""
    angle, radius = 1.5 * math.pi * t, 1.0 + t
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


def curve_2d(n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """2-D data on a 1-D curve with non-uniform mass: (x: (n, 2), t: (n,))."""
    t = curve_coordinate(n, rng)
    return curve_point(t), t


def sphere_height(n: int, rng: torch.Generator) -> torch.Tensor:
    """h = u_3 in [-1, 1], the height that carries the mass on the sphere: 2/5 in a polar cap with density
    ∝ exp(10 h), 2/5 in a ring at h = -0.4 (sd 0.06), 1/5 uniform (the uniform sphere has uniform height)."""
    which = torch.rand(n, generator=rng)
    uniform = torch.rand(n, generator=rng)
    cap = 1.0 + torch.log(uniform + (1.0 - uniform) * math.exp(-20.0)) / 10.0  # inverse CDF of ∝ exp(10 h)
    ring = -0.4 + 0.06 * torch.randn(n, generator=rng)
    flat = 2.0 * torch.rand(n, generator=rng) - 1.0
    return torch.where(which < 0.4, cap, torch.where(which < 0.8, ring, flat)).clamp(-1.0, 1.0)


def deformed_sphere(n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """3-D data on a deformed sphere (a 2-D manifold): direction u with height u_3 from :func:`sphere_height`
    and a uniform azimuth, radius 1 + 0.3 sin(3 u_1) u_2. Returns (x: (n, 3), u_3: (n,))."""
    height = sphere_height(n, rng)
    azimuth = 2.0 * math.pi * torch.rand(n, generator=rng)
    across = (1.0 - height**2).sqrt()
    u = torch.stack([across * torch.cos(azimuth), across * torch.sin(azimuth), height], dim=1)
    radius = 1.0 + 0.3 * torch.sin(3 * u[:, 0]) * u[:, 1]
    return u * radius[:, None], height
