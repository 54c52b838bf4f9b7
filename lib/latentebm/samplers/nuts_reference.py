"""A reference posterior by NUTS for a small nonlinear generator, written in both torch and jax (notebook 08).

The generator is ``g(z) = W_2 tanh(W_1 z + b_1) + b_2`` with fixed random weights, ``z (d,)``, ``x (D,)``, and
``x = g(z) + eps``, ``eps ~ N(0, sigma^2 I)``, ``z ~ N(0, I)``: the same posterior ``p(z|x)`` is sampled by
short-run inference (torch, :func:`toy_log_joint`) and by NUTS (jax, :func:`toy_potential_jax` through the one
NUTS wrapper :func:`latentebm.samplers.nuts.run_nuts`), and the two sample sets are compared.
"""

from __future__ import annotations

import numpy as np
import torch

from latentebm.samplers.nuts import run_nuts


def toy_weights(x_dim: int, z_dim: int, hidden: int, seed: int) -> dict[str, np.ndarray]:
    """Random weights ``W1 (H, d)``, ``b1 (H,)``, ``W2 (D, H)``, ``b2 (D,)`` (float64), scaled for O(1) outputs."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(hidden, z_dim)) * 1.5, "b1": rng.normal(size=hidden) * 0.5,
            "W2": rng.normal(size=(x_dim, hidden)) / np.sqrt(hidden), "b2": rng.normal(size=x_dim) * 0.1}


def toy_mean(weights: dict[str, np.ndarray], z: torch.Tensor) -> torch.Tensor:
    """``g(z)`` in torch, ``z (B, d) -> (B, D)``."""
    w = {k: torch.as_tensor(v, dtype=z.dtype) for k, v in weights.items()}
    return torch.tanh(z @ w["W1"].T + w["b1"]) @ w["W2"].T + w["b2"]


def toy_log_joint(weights: dict[str, np.ndarray], x: torch.Tensor, z: torch.Tensor, sigma: float) -> torch.Tensor:
    """``log p(x, z)`` for ``x (B, D)``, ``z (B, d) -> (B,)`` (normalised)."""
    residual = x - toy_mean(weights, z)
    d, D = z.shape[1], x.shape[1]
    return (-0.5 * (residual**2).sum(1) / sigma**2 - 0.5 * D * np.log(2 * np.pi * sigma**2)
            - 0.5 * (z**2).sum(1) - 0.5 * d * np.log(2 * np.pi))


def toy_potential_jax(weights: dict[str, np.ndarray], x: np.ndarray, sigma: float):
    """``U(z) = -log p(x, z)`` up to a constant, for one ``z (d,) -> ()`` in jax, given one ``x (D,)``."""
    import jax.numpy as jnp

    w = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in weights.items()}
    x = jnp.asarray(x, dtype=jnp.float32)

    def potential(z):
        mean = w["W2"] @ jnp.tanh(w["W1"] @ z + w["b1"]) + w["b2"]
        return 0.5 * jnp.sum((x - mean) ** 2) / sigma**2 + 0.5 * jnp.sum(z**2)

    return potential


def nuts_posterior(weights: dict[str, np.ndarray], x: np.ndarray, sigma: float, n_warmup: int, n_samples: int,
                   n_chains: int, seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """NUTS draws of ``z`` given one ``x (D,)``: ``(samples (n_chains, n_samples, d), diagnostics)``.

    The chains start at prior draws z ~ N(0, I) from ``seed``, which also seeds NUTS. Diagnostics (arviz): the
    largest split R-hat, the smallest bulk and tail effective sample sizes over the coordinates of z, and the
    number of divergent transitions.
    """
    z_dim = weights["W1"].shape[1]
    init = np.random.default_rng(seed).normal(size=(n_chains, z_dim))
    result = run_nuts(toy_potential_jax(weights, x, sigma), init, n_warmup, n_samples, seed)
    return result.draws.transpose(1, 0, 2), result.summary()
