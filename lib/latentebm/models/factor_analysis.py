"""Factor analysis, the linear-Gaussian generator ``x = W z + mu + eps`` (``z ~ N(0, I_d)``, ``eps ~ N(0,
sigma^2 I_D)``), where the posterior and the short-run distribution are Gaussian in closed form (seed 002), and
so are the evidence, the ELBO's gap and the variance of importance weights under a Gaussian proposal (seed 003).

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

    @classmethod
    def fit(cls, x: Tensor, z_dim: int) -> FactorAnalysis:
        """Probabilistic PCA by maximum likelihood in closed form (Tipping & Bishop): ``mu`` the mean, ``sigma^2``
        the mean of the discarded eigenvalues of the sample covariance, ``W = U_d (Lambda_d - sigma^2 I)^{1/2}``
        (float64; ``x (N, D)``)."""
        x = x.to(torch.float64)
        mu = x.mean(0)
        eigenvalues, vectors = torch.linalg.eigh(torch.cov((x - mu).T, correction=0))
        eigenvalues, vectors = eigenvalues.flip(0), vectors.flip(1)
        sigma2 = eigenvalues[z_dim:].mean()
        W = vectors[:, :z_dim] * (eigenvalues[:z_dim] - sigma2).clamp_min(0).sqrt()
        return cls(W, mu, float(sigma2.sqrt()))

    def log_weights(self, x: Tensor, q_mean: Tensor, q_std: Tensor, k: int, rng: torch.Generator) -> Tensor:
        """``log p(x, z_i) - log q(z_i|x)`` for ``k`` draws from a diagonal Gaussian ``q = N(q_mean, diag(q_std^2))``
        per example (``x, q_mean (B, .)``, ``q_std (d,)`` or ``(B, d)``), ``(k, B)``."""
        z = q_mean + q_std * torch.randn((k, *q_mean.shape), generator=rng, dtype=q_mean.dtype)
        return self.log_weights_at(x, z, q_mean, q_std)

    def log_weights_at(self, x: Tensor, z: Tensor, q_mean: Tensor, q_std: Tensor) -> Tensor:
        """The log weights of given draws ``z (k, B, d)`` of the proposal of :meth:`log_weights`, ``(k, B)``."""
        k = z.shape[0]
        log_q = (-0.5 * ((z - q_mean) / q_std) ** 2 - q_std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        return self.log_joint(x.repeat(k, 1), z.reshape(-1, z.shape[-1])).reshape(k, -1) - log_q

    def proposal_kl(self, q_mean: Tensor, q_std: Tensor, x: Tensor) -> Tensor:
        """``KL(q || p(z|x))`` for ``q = N(q_mean, diag(q_std^2))``: the ELBO's gap ``log p(x) - L_1``, ``(B,)``."""
        m, cov = self.posterior(x)
        return gaussian_kl(q_mean, torch.diag(q_std**2), m, cov)

    def weight_relative_variance(self, q_mean: Tensor, q_std: Tensor, x: Tensor) -> Tensor:
        """``Var_q(w) / (E_q w)^2`` of ``w = p(x, z) / q(z|x)``, i.e. ``int p(z|x)^2 / q(z|x) dz - 1``, in closed
        form, ``(B,)``. With posterior ``N(m, S_p)`` and ``q = N(mu, S_q)``, ``A = 2 S_p^{-1} - S_q^{-1}`` (which
        must be positive definite: q not too narrow), ``b = 2 S_p^{-1} m - S_q^{-1} mu``:
        ``int p^2/q = det(S_q)^{1/2} det(S_p)^{-1} det(A)^{-1/2} exp(b^T A^{-1} b / 2 - m^T S_p^{-1} m
        + mu^T S_q^{-1} mu / 2)``. The IW gap ``log p(x) - L_k`` behaves like this over ``2k`` for large k."""
        m, cov = self.posterior(x)
        p_inv, q_inv = torch.linalg.inv(cov), torch.diag(q_std**-2)
        a = 2 * p_inv - q_inv
        b = 2 * m @ p_inv - q_mean @ q_inv
        log_ratio = (0.5 * (b @ torch.linalg.inv(a) * b).sum(1) - ((m @ p_inv) * m).sum(1)
                     + 0.5 * ((q_mean @ q_inv) * q_mean).sum(1) + q_std.log().sum()
                     - torch.linalg.slogdet(cov).logabsdet - 0.5 * torch.linalg.slogdet(a).logabsdet)
        return log_ratio.exp() - 1

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
