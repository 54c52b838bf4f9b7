"""Closed forms for the GEBM derivations of seed 001 on Gaussians, where the inner KALE problem is solvable.

Setting: P = N(mu, sigma^2 I_d); base B_theta(z) = theta + z, z ~ N(0, I_d), so Q_theta = N(theta, I_d);
energies E(x) = -w.x + a |x|^2 / 2 (a > -1) plus a constant c. This class holds -log(p/q) (a = 1/sigma^2 - 1,
w = mu/sigma^2 - theta), so K(theta) = KL(P, Q_theta) and grad K(theta) = theta - mu.

- :func:`kale_bound_closed_form` is the KALE objective F(E + c) of
  :func:`latentebm.divergences.variational.kale_bound` with every expectation done in closed form;
  :func:`solve_kale` maximises it (K(theta)), :func:`optimal_energy`, :func:`kl`, :func:`kale_gradient` give the
  answers it must reach.

With a = 0 and the class restricted to the ball |w| <= L (convex, not a cone), sigma = 1, d = mu - theta:
w* = d while |d| <= L (K = |d|^2 / 2) and w* = L d/|d| beyond (K = L|d| - L^2/2), and Q_{B,E*} = N(theta + w*, I)
(:func:`ball_optimal_w`, :func:`ball_kale`). From samples, the same sup over the ball is found by search on a
grid of the disk (:func:`ball_grid`, :func:`ball_kale_from_samples`, d = 2).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize


def log_partition(w: np.ndarray, a: float, theta: np.ndarray) -> float:
    """log Z = log E_{N(theta, I)}[exp(w.x - a|x|^2/2)] = |theta + w|^2 / (2(1+a)) - |theta|^2/2 - d/2 log(1+a)."""
    d = theta.shape[0]
    return float(((theta + w) @ (theta + w)) / (2 * (1 + a)) - 0.5 * theta @ theta - 0.5 * d * np.log1p(a))


def kale_bound_closed_form(w: np.ndarray, a: float, c: float, mu: np.ndarray, sigma: float,
                           theta: np.ndarray) -> float:
    """F(w, a, c) = -E_P[E + c] - E_Q[exp(-E - c)] + 1 for E(x) = -w.x + a|x|^2/2, P = N(mu, sigma^2 I),
    Q = N(theta, I): ``variational.kale_bound`` with both expectations in closed form (E_Q exp(-E) = Z)."""
    d = mu.shape[0]
    mean_energy = -(w @ mu) + 0.5 * a * (mu @ mu + d * sigma**2)
    return float(-mean_energy - c - np.exp(log_partition(w, a, theta) - c) + 1.0)


def optimal_energy(mu: np.ndarray, sigma: float, theta: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(w*, a*, c*) = (mu/sigma^2 - theta, 1/sigma^2 - 1, log Z(w*, a*)): E* + c* = -log(p/q)."""
    w, a = mu / sigma**2 - theta, 1.0 / sigma**2 - 1.0
    return w, a, log_partition(w, a, theta)


def kl(mu: np.ndarray, sigma: float, theta: np.ndarray) -> float:
    """KL(N(mu, sigma^2 I) || N(theta, I)) = (d sigma^2 + |mu - theta|^2 - d - 2 d log sigma) / 2."""
    d = mu.shape[0]
    return float(0.5 * (d * sigma**2 + (mu - theta) @ (mu - theta) - d - 2 * d * np.log(sigma)))


def kale_gradient(mu: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """grad K(theta) = theta - mu (the gradient theorem: E_{Q_{B,E*}} = E_P of grad_x E* = -w* + a* x)."""
    return theta - mu


def solve_kale(mu: np.ndarray, sigma: float, theta: np.ndarray,
               start: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """K(theta) = max_{w, a, c} F by BFGS on the closed-form F; returns (value, [w..., a, c])."""
    d = mu.shape[0]

    def negative(v: np.ndarray) -> float:
        if v[d] <= -1.0:
            return 1e10
        return -kale_bound_closed_form(v[:d], v[d], v[d + 1], mu, sigma, theta)

    x0 = np.zeros(d + 2) if start is None else start
    result = minimize(negative, x0, method="BFGS", options={"gtol": 1e-11, "maxiter": 10000})
    return -float(result.fun), result.x


def ball_optimal_w(mu: np.ndarray, theta: np.ndarray, radius: float) -> np.ndarray:
    """argmax_{|w| <= L} w.(mu - theta) - |w|^2/2 (sigma = 1, a = 0): d projected on the ball."""
    d = mu - theta
    norm = np.linalg.norm(d)
    return d if norm <= radius else d * (radius / norm)


def ball_kale(mu: np.ndarray, theta: np.ndarray, radius: float) -> float:
    """KALE over {-w.x + c : |w| <= L} between N(mu, I) and N(theta, I): w*.d - |w*|^2/2."""
    w = ball_optimal_w(mu, theta, radius)
    return float(w @ (mu - theta) - 0.5 * w @ w)


def ball_grid(radius: float, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The points w of an n x n grid of [-radius, radius]^2 that lie in the disk |w| <= radius: (K, 2).

    With n odd the grid holds the centre and the four points (0, +-radius), (+-radius, 0).
    """
    axis = torch.linspace(-radius, radius, n, dtype=dtype)
    w = torch.cartesian_prod(axis, axis)
    return w[w.norm(dim=1) <= radius * (1 + 1e-12)]


def ball_kale_from_samples(x_p: torch.Tensor, x_q: torch.Tensor, w_grid: torch.Tensor,
                           weights_q: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
    """max over ``w_grid`` of the generalized log-likelihood of E_w(x) = -w.x (KALE over {E_w + c}, c at its
    optimum): mean_P w.x - log sum_i q_i exp(w.x_i), the DV form ``variational.dv_bound`` on every w at once.

    x_p: (n, 2), x_q: (m, 2), w_grid: (K, 2), weights_q: (m,) probabilities of Q's points (default 1/m; e.g.
    self-normalised weights exp(-E*(x_i)) to evaluate against Q_{B,E*}). Returns (value, w*).
    """
    m = x_q.shape[0]
    log_q = (torch.full((m,), -np.log(m), dtype=x_q.dtype, device=x_q.device) if weights_q is None
             else torch.log(weights_q))
    values = w_grid @ x_p.mean(0) - torch.logsumexp(log_q[None, :] + w_grid @ x_q.T, dim=1)
    best = int(values.argmax())
    return float(values[best]), w_grid[best]
