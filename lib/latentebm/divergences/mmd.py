"""Maximum mean discrepancy with a Gaussian kernel: the large-penalty limit of the KALE smoothie.

MMD^2(P, Q) = |mu_P - mu_Q|_H^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y), with
k(x, x') = exp(-|x - x'|^2 / (2 sigma^2)). Computed here independently of the smoothie's solver: as a
V-statistic under weighted measures (samples or quadrature), as the unbiased U-statistic from samples, and in
closed form for one-dimensional Gaussians.
"""

from __future__ import annotations

import math

import torch

from latentebm.divergences.gaussian import Gaussian1D
from latentebm.divergences.kale_rkhs import gaussian_kernel
from latentebm.divergences.variational import Measure


def mmd2(p: Measure, q: Measure, bandwidth: float = 1.0) -> float:
    """V-statistic w^T K_xx w + v^T K_yy v - 2 w^T K_xy v (the population value for the weighted measures)."""
    w, v = p.probabilities(), q.probabilities()
    k = lambda a, b: gaussian_kernel(a, b, bandwidth)  # noqa: E731
    return float(w @ k(p.points, p.points) @ w + v @ k(q.points, q.points) @ v - 2 * w @ k(p.points, q.points) @ v)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 1.0) -> float:
    """U-statistic from samples x: (n, d), y: (m, d): the diagonal terms k(x_i, x_i) = 1 are left out."""
    n, m = x.shape[0], y.shape[0]
    k_xx = gaussian_kernel(x, x, bandwidth)
    k_yy = gaussian_kernel(y, y, bandwidth)
    k_xy = gaussian_kernel(x, y, bandwidth)
    return float((k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
                 + (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1)) - 2 * k_xy.mean())


def _expected_kernel(a: Gaussian1D, b: Gaussian1D, bandwidth: float) -> float:
    """E k(X, Y), X ~ a, Y ~ b independent: X - Y ~ N(mu_a - mu_b, s_a^2 + s_b^2), a Gaussian integral."""
    total = bandwidth**2 + a.std**2 + b.std**2
    return bandwidth / math.sqrt(total) * math.exp(-((a.mean - b.mean) ** 2) / (2 * total))


def mmd2_gaussian(p: Gaussian1D, q: Gaussian1D, bandwidth: float = 1.0) -> float:
    """MMD^2 between two 1-D Gaussians in closed form."""
    return (_expected_kernel(p, p, bandwidth) + _expected_kernel(q, q, bandwidth)
            - 2 * _expected_kernel(p, q, bandwidth))
