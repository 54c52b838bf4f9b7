"""The 2-D targets of the anatomy paper's toy experiments (Nijkamp, Hill, Han, Zhu & Wu 2020; the definitions of
their repository point0bar1/ebm-anatomy, ``ToyDataset``), with their densities in closed form:

- ``"gmm"``: ``groups`` Gaussians N(m_k, sd^2 I) of equal weight, means on the circle of ``radius`` at angles
  2 pi k / groups (authors: 8 groups, radius 1, sd 0.15);
- ``"rings"``: ``groups`` rings of equal weight, ring k at radius ``(k + 1) * radius`` with Gaussian radial noise
  of ``sd`` and a uniform angle; its density in the plane is
  p(x) = sum_k (1/groups) N(|x|; r_k, sd^2) / (2 pi r_k)   (authors: 4 rings, radius 1, sd 0.15),
  exact up to the mass the radial Gaussian puts below 0 (the authors' formula too; < 1e-10 for r_k >= 6 sd).

``extent`` is the half-width of the authors' plotting square (outermost mode + 4 sd), on which a learned density
is normalised by quadrature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

KINDS = ("gmm", "rings")


@dataclass(frozen=True)
class ToyTarget:
    kind: str
    groups: int
    sd: float = 0.15
    radius: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.groups < 1 or self.sd <= 0 or self.radius <= 0:
            raise ValueError(f"a toy target is one of {KINDS} with groups >= 1 and sd, radius > 0; got {self}")

    @property
    def extent(self) -> float:
        outermost = self.radius * (self.groups if self.kind == "rings" else 1)
        return outermost + 4 * self.sd

    def means(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The gmm's means (groups, 2)."""
        angle = 2 * math.pi * torch.arange(self.groups, dtype=dtype) / self.groups
        return self.radius * torch.stack([angle.cos(), angle.sin()], 1)

    def radii(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The rings' radii (groups,)."""
        return self.radius * torch.arange(1, self.groups + 1, dtype=dtype)

    def sample(self, n: int, rng: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """n points (n, 2) drawn from ``rng`` (on the CPU); every point picks its group uniformly."""
        group = torch.randint(self.groups, (n,), generator=rng)
        if self.kind == "gmm":
            return self.means(dtype)[group] + self.sd * torch.randn(n, 2, generator=rng, dtype=dtype)
        r = self.radii(dtype)[group] + self.sd * torch.randn(n, generator=rng, dtype=dtype)
        angle = 2 * math.pi * torch.rand(n, generator=rng, dtype=dtype)
        return r[:, None] * torch.stack([angle.cos(), angle.sin()], 1)

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in closed form, x: (n, 2) -> (n,)."""
        x = x.to(torch.float64)
        var = self.sd**2
        if self.kind == "gmm":
            sq = (x[:, None, :] - self.means()).pow(2).sum(-1)
            log_k = -sq / (2 * var) - math.log(2 * math.pi * var)
        else:
            r, radii = x.norm(dim=1, keepdim=True), self.radii()
            log_k = (-(r - radii).pow(2) / (2 * var) - 0.5 * math.log(2 * math.pi * var)
                     - torch.log(2 * math.pi * radii))
        return torch.logsumexp(log_k, 1) - math.log(self.groups)
