"""A reference posterior by NUTS (numpyro) for a small nonlinear generator, written in both torch and jax.

The generator is ``g(z) = W_2 tanh(W_1 z + b_1) + b_2`` with fixed random weights, ``z (d,)``, ``x (D,)``, and
``x = g(z) + eps``, ``eps ~ N(0, sigma^2 I)``, ``z ~ N(0, I)``: the same posterior ``p(z|x)`` is sampled by
short-run inference (torch) and by NUTS (jax), and the two sample sets are compared (notebook 08).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch


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


def nuts_posterior(weights: dict[str, np.ndarray], x: np.ndarray, sigma: float, n_warmup: int, n_samples: int,
                   n_chains: int, seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """NUTS draws of ``z`` given one ``x (D,)``: ``(samples (n_chains, n_samples, d), diagnostics)``.

    Diagnostics (arviz): the largest split R-hat, the smallest bulk and tail effective sample sizes over the
    coordinates of z, and the number of divergent transitions.
    """
    with warnings.catch_warnings():  # numpyro's tqdm import warns when ipywidgets is absent
        warnings.simplefilter("ignore")
        import arviz as az
        import jax
        import jax.numpy as jnp
        import numpyro
        import numpyro.distributions as dist
        from numpyro.infer import MCMC, NUTS

    w = {k: jnp.asarray(v) for k, v in weights.items()}
    z_dim = weights["W1"].shape[1]

    def model(x_obs):
        z = numpyro.sample("z", dist.Normal(jnp.zeros(z_dim), 1.0).to_event(1))
        mean = jnp.tanh(w["W1"] @ z + w["b1"]) @ w["W2"].T + w["b2"]
        numpyro.sample("x", dist.Normal(mean, sigma).to_event(1), obs=x_obs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mcmc = MCMC(NUTS(model), num_warmup=n_warmup, num_samples=n_samples, num_chains=n_chains,
                    chain_method="vectorized", progress_bar=False)
        mcmc.run(jax.random.PRNGKey(seed), jnp.asarray(x, dtype=jnp.float32), extra_fields=("diverging",))
        samples = np.asarray(mcmc.get_samples(group_by_chain=True)["z"])
        posterior = az.convert_to_dataset({"z": samples})
        diagnostics = {
            "r_hat_max": float(az.rhat(posterior)["z"].max()),
            "ess_bulk_min": float(az.ess(posterior, method="bulk")["z"].min()),
            "ess_tail_min": float(az.ess(posterior, method="tail")["z"].min()),
            "divergences": int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum()),
        }
    return samples, diagnostics
