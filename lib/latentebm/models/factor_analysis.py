"""Factor analysis, the linear-Gaussian generator ``x = W z + mu + eps`` (``z ~ N(0, I_d)``, ``eps ~ N(0,
sigma^2 I_D)``), where the posterior and the short-run distribution are Gaussian in closed form (seed 002).

Posterior: precision ``A = I + W^T W / sigma^2``, ``p(z|x) = N(m, A^{-1})``, ``m = A^{-1} W^T (x - mu) / sigma^2``.
Gradient ascent ``z <- z + eta grad log p(x, z) = M z + eta A m`` with ``M = I - eta A``, ``eta = s^2/2``, gives
after K steps from ``z_0 ~ N(0, I)``: ``q_s = N((I - M^K) m, M^{2K})`` (M is symmetric).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class FactorAnalysis:
    """``W (D, d)``, ``mu (D,)``, ``sigma`` the noise standard deviation."""

    W: Tensor
    mu: Tensor
    sigma: float

    @classmethod
    def random(cls, x_dim: int, z_dim: int, sigma: float, rng: torch.Generator) -> FactorAnalysis:
        """``W`` with N(0, 1/d) entries and ``mu`` with N(0, 0.01) entries from ``rng`` (float64)."""
        W = torch.randn(x_dim, z_dim, generator=rng, dtype=torch.float64) / math.sqrt(z_dim)
        mu = torch.randn(x_dim, generator=rng, dtype=torch.float64) * 0.1
        return cls(W, mu, sigma)

    @property
    def precision(self) -> Tensor:
        """``A = I + W^T W / sigma^2``, ``(d, d)``."""
        return torch.eye(self.W.shape[1], dtype=self.W.dtype) + self.W.T @ self.W / self.sigma**2

    def sample(self, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        """``(x (n, D), z (n, d))`` from the model, drawn from ``rng``."""
        z = torch.randn(n, self.W.shape[1], generator=rng, dtype=self.W.dtype)
        eps = torch.randn(n, self.W.shape[0], generator=rng, dtype=self.W.dtype)
        return z @ self.W.T + self.mu + self.sigma * eps, z

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """``log p(x, z)``, ``x (B, D)``, ``z (B, d) -> (B,)``; ``x (1, D)`` scores one example against a batch
        of chains ``z``."""
        D, d = self.W.shape
        residual = x - z @ self.W.T - self.mu
        return (-0.5 * (residual**2).sum(1) / self.sigma**2 - 0.5 * D * math.log(2 * math.pi * self.sigma**2)
                - 0.5 * (z**2).sum(1) - 0.5 * d * math.log(2 * math.pi))

    def log_evidence(self, x: Tensor) -> Tensor:
        """``log p(x) = log N(x; mu, W W^T + sigma^2 I)``, ``(B,)``."""
        cov = self.W @ self.W.T + self.sigma**2 * torch.eye(self.W.shape[0], dtype=self.W.dtype)
        return torch.distributions.MultivariateNormal(self.mu, covariance_matrix=cov).log_prob(x)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(m (B, d), A^{-1} (d, d))``."""
        cov = torch.linalg.inv(self.precision)
        return (x - self.mu) @ self.W @ cov / self.sigma**2, cov

    def short_run(self, x: Tensor, s: float, n_steps: int) -> tuple[Tensor, Tensor]:
        """Mean ``(B, d)`` and covariance ``(d, d)`` of q_s after ``n_steps`` gradient-ascent steps from the prior."""
        eta = 0.5 * s**2
        a, V = torch.linalg.eigh(self.precision)
        m_k = V @ torch.diag((1 - eta * a) ** n_steps) @ V.T
        m, _ = self.posterior(x)
        return m @ (torch.eye(len(a), dtype=a.dtype) - m_k), m_k @ m_k


def gaussian_kl(mean_q: Tensor, cov_q: Tensor, mean_p: Tensor, cov_p: Tensor) -> Tensor:
    """``KL(N(mean_q, cov_q) || N(mean_p, cov_p))`` for means ``(B, d)`` and shared covariances ``(d, d)``, ``(B,)``.

    ``= 1/2 [tr(S_p^{-1} S_q) + (m_p - m_q)^T S_p^{-1} (m_p - m_q) - d + log det S_p - log det S_q]``.
    """
    precision_p = torch.linalg.inv(cov_p)
    diff = mean_p - mean_q
    mahalanobis = ((diff @ precision_p) * diff).sum(1)
    d = cov_q.shape[0]
    return 0.5 * (torch.trace(precision_p @ cov_q) + mahalanobis - d
                  + torch.linalg.slogdet(cov_p).logabsdet - torch.linalg.slogdet(cov_q).logabsdet)
