"""Reference posteriors for checking the samplers: a toy GEBM with a 2-D latent, written twice (torch for the
samplers, jax for NUTS through :func:`latentebm.samplers.nuts.run_nuts`), its posterior computed on a grid, and
histogram total-variation distances of samples to it (with their Monte-Carlo floor).

The toy (seed 001's model at small scale): latent z ~ eta = N(0, I_2); base x = B(z) = z + W2 tanh(W1 z + b1)
(a residual one-hidden-layer network with fixed random weights); energy a soft minimum over K centres,

    E(x) = -log sum_k pi_k exp(-|x - c_k|^2 / (2 s^2)),

so that nu_beta(z) ∝ eta(z) exp(-beta E(B(z))) has K modes whose depth grows with beta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from latentebm.ops import effective_sample_size
from latentebm.samplers.potentials import Potential, standard_normal_neg_log_density


@dataclass(frozen=True)
class ToyGEBM:
    """Weights of the toy: w1 (h, 2), b1 (h,), w2 (2, h), centres (K, 2), log_pi (K,), scale s."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    centres: np.ndarray
    log_pi: np.ndarray
    scale: float

    def base_torch(self, z: torch.Tensor) -> torch.Tensor:
        """x = B(z) = z + W2 tanh(W1 z + b1), ``z: (C, 2) -> (C, 2)``."""
        w1, b1, w2 = (torch.as_tensor(a, dtype=z.dtype, device=z.device) for a in (self.w1, self.b1, self.w2))
        return z + torch.tanh(z @ w1.T + b1) @ w2.T

    def energy_torch(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) = -log sum_k pi_k exp(-|x - c_k|^2 / (2 s^2)), ``x: (C, 2) -> (C,)``."""
        centres = torch.as_tensor(self.centres, dtype=x.dtype, device=x.device)
        log_pi = torch.as_tensor(self.log_pi, dtype=x.dtype, device=x.device)
        sq = (x.unsqueeze(1) - centres).pow(2).sum(-1)
        return -torch.logsumexp(log_pi - sq / (2.0 * self.scale**2), dim=1)

    def potential_torch(self, beta: float = 1.0) -> Potential:
        """U(z) = |z|^2 / 2 + beta E(B(z)) on ``(C, 2)``."""

        def potential(z: torch.Tensor) -> torch.Tensor:
            return standard_normal_neg_log_density(z) + beta * self.energy_torch(self.base_torch(z))

        return potential

    def potential_jax(self, beta: float = 1.0):
        """The same U for one latent ``z: (2,) -> ()`` in jax (numpyro's ``potential_fn``)."""
        import jax.numpy as jnp
        from jax.scipy.special import logsumexp

        w1, b1, w2, centres, log_pi = (jnp.asarray(a) for a in (self.w1, self.b1, self.w2, self.centres,
                                                                  self.log_pi))

        def potential(z):
            x = z + w2 @ jnp.tanh(w1 @ z + b1)
            energy = -logsumexp(log_pi - jnp.sum((x - centres) ** 2, axis=-1) / (2.0 * self.scale**2))
            return 0.5 * jnp.sum(z**2) + beta * energy

        return potential

    def potential_jax_values(self, z: np.ndarray, beta: float = 1.0) -> np.ndarray:
        """:meth:`potential_jax` at each row of ``z: (N, 2)`` (float32, as NUTS evaluates it); ``(N,)``."""
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.vmap(self.potential_jax(beta))(jnp.asarray(z, dtype=jnp.float32)), dtype=np.float64)


def self_normalised(values: np.ndarray, log_w: torch.Tensor) -> tuple[float, float]:
    """Self-normalised importance-sampling estimate of E[g] from ``values = g(x_i): (N,)`` with log-weights
    ``log_w: (N,)``, and its standard error sqrt(sum_i w_i (g_i - estimate)^2 / ESS) (w normalised)."""
    w = torch.softmax(log_w, 0).numpy()
    estimate = float(np.sum(w * values))
    return estimate, float(np.sqrt(np.sum(w * (values - estimate) ** 2) / effective_sample_size(log_w)))


def toy_gebm(seed: int = 0, hidden: int = 8, weight_scale: float = 0.4, scale: float = 0.7,
             centres: tuple = ((-1.4, 0.4), (1.4, -0.4)), weights: tuple = (0.35, 0.65)) -> ToyGEBM:
    """The toy GEBM with random base weights drawn from ``seed`` (numpy), two unequal modes by default."""
    rng = np.random.default_rng(seed)
    return ToyGEBM(w1=rng.normal(size=(hidden, 2)), b1=rng.normal(size=hidden) * 0.5,
                   w2=rng.normal(size=(2, hidden)) * weight_scale / math.sqrt(hidden),
                   centres=np.asarray(centres, dtype=np.float64),
                   log_pi=np.log(np.asarray(weights, dtype=np.float64) / sum(weights)), scale=scale)


@dataclass(frozen=True)
class GridPosterior:
    """nu on the cell centres of a square grid: ``axis: (n,)`` centres, ``mass: (n, n)`` cell masses summing to
    1 (indexed [i, j] for z = (axis[i], axis[j])), ``width`` the cell width."""

    axis: np.ndarray
    mass: np.ndarray
    width: float

    @property
    def edges(self) -> np.ndarray:
        return np.append(self.axis - self.width / 2, self.axis[-1] + self.width / 2)

    def expectation(self, g) -> float:
        """E_nu[g(z)] by the midpoint rule, for ``g: (N, 2) -> (N,)`` on numpy arrays."""
        zz = np.stack(np.meshgrid(self.axis, self.axis, indexing="ij"), -1).reshape(-1, 2)
        return float(np.sum(self.mass.ravel() * g(zz)))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n independent draws: a cell by its mass, then uniform within it; ``(n, 2)``."""
        cells = rng.choice(self.mass.size, size=n, p=self.mass.ravel())
        i, j = np.unravel_index(cells, self.mass.shape)
        jitter = rng.uniform(-0.5, 0.5, size=(n, 2)) * self.width
        return np.stack([self.axis[i], self.axis[j]], 1) + jitter


def grid_posterior(potential: Potential, limit: float = 4.0, n: int = 400) -> GridPosterior:
    """nu ∝ exp(-U) on an n x n grid over [-limit, limit]^2 (midpoint rule, float64)."""
    width = 2.0 * limit / n
    axis = np.linspace(-limit + width / 2, limit - width / 2, n)
    zz = torch.as_tensor(np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2), dtype=torch.float64)
    with torch.no_grad():
        log_density = -potential(zz).numpy().reshape(n, n)
    mass = np.exp(log_density - log_density.max())
    return GridPosterior(axis, mass / mass.sum(), width)


def _binned(samples: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, float]:
    """Fractions of ``samples: (N, 2)`` in each cell of the partition ``edges`` x ``edges``, and outside it."""
    counts = np.histogram2d(samples[:, 0], samples[:, 1], bins=[edges, edges])[0]
    fractions = counts / len(samples)
    return fractions, 1.0 - fractions.sum()


def histogram_tv(samples: np.ndarray, grid: GridPosterior, bins: int = 20) -> float:
    """Total variation between the empirical law of ``samples: (N, 2)`` and nu, on a bins x bins partition of
    the grid's square (mass outside the square counts as a disagreement)."""
    n = grid.mass.shape[0]
    if n % bins:
        raise ValueError(f"the grid size {n} must be a multiple of bins={bins}")
    block = n // bins
    target = grid.mass.reshape(bins, block, bins, block).sum((1, 3))
    empirical, outside = _binned(samples, grid.edges[::block])
    return float(0.5 * (np.abs(empirical - target).sum() + outside))


def histogram_tv_two_sample(a: np.ndarray, b: np.ndarray, grid: GridPosterior, bins: int = 20) -> float:
    """Total variation between the empirical laws of ``a: (N, 2)`` and ``b: (M, 2)`` on the same partition."""
    edges = grid.edges[:: grid.mass.shape[0] // bins]
    (pa, out_a), (pb, out_b) = _binned(a, edges), _binned(b, edges)
    return float(0.5 * (np.abs(pa - pb).sum() + abs(out_a - out_b)))


def histogram_tv_floor(grid: GridPosterior, n: int, repeats: int, rng: np.random.Generator,
                       bins: int = 20) -> np.ndarray:
    """The TV of n exact independent draws from nu: the Monte-Carlo floor of :func:`histogram_tv`; (repeats,)."""
    return np.array([histogram_tv(grid.sample(n, rng), grid, bins) for _ in range(repeats)])
