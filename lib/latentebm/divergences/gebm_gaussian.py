"""Closed forms for the GEBM derivations of seed 001 on Gaussians, where the inner KALE problem is solvable.

Setting: P = N(mu, sigma^2 I_d); base B_theta(z) = theta + z, z ~ N(0, I_d), so Q_theta = N(theta, I_d);
energies E(x) = -w.x + a |x|^2 / 2 (a > -1) plus a constant c. This class holds -log(p/q) (a = 1/sigma^2 - 1,
w = mu/sigma^2 - theta), so K(theta) = KL(P, Q_theta) and grad K(theta) = theta - mu.

With a = 0 and the class restricted to the ball |w| <= L (convex, not a cone), sigma = 1:
w* = L d/|d| once |d| = |mu - theta| > L, K = L|d| - L^2/2, and Q_{B,E*} = N(theta + w*, I).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def log_partition(w: np.ndarray, a: float, theta: np.ndarray) -> float:
    """log Z = log E_{N(theta, I)}[exp(w.x - a|x|^2/2)] = |theta + w|^2 / (2(1+a)) - |theta|^2/2 - d/2 log(1+a)."""
    d = theta.shape[0]
    return float(((theta + w) @ (theta + w)) / (2 * (1 + a)) - 0.5 * theta @ theta - 0.5 * d * np.log1p(a))


def kale_objective(w: np.ndarray, a: float, c: float, mu: np.ndarray, sigma: float, theta: np.ndarray) -> float:
    """F(w, a, c) = E_P[w.x - a|x|^2/2] - c - E_Q[exp(w.x - a|x|^2/2 - c)] + 1, all in closed form."""
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
        return -kale_objective(v[:d], v[d], v[d + 1], mu, sigma, theta)

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
