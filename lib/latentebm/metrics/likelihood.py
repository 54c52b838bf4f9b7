"""Log-likelihood of an energy-based model on top of a base with a density (seed 001, "Sanity check: reduction
to EBM case"): the normaliser by importance sampling with the base as proposal, or by annealed importance
sampling (AIS, Neal 2001), each with the spread of the estimate.

The model is p(x) = q(x) exp(-E(x)) / Z with Z = E_{x~q}[exp(-E(x))]. With x_i ~ q (the proposal is the base),

    Z_hat = (1/n) sum_i exp(-E(x_i))                                                            (1)

is unbiased for Z; log Z_hat is biased low (Jensen), by about var(Z_hat) / (2 Z^2), which the spread over
repeats and the effective sample size ESS = (sum w)^2 / sum w^2 make visible.

AIS anneals in the latent space of the base, x = B(z), z ~ eta, through pi_beta(z) ∝ eta(z) exp(-beta E(B(z)))
for 0 = beta_0 < ... < beta_K = 1 (the normalisers equal those in x by the change of variables), with MALA
moves leaving each pi_beta invariant; the weights

    log w = sum_k (beta_k - beta_{k-1}) (-E(B(z_{k-1})))                                          (2)

again give an unbiased estimate exp(log w) of Z. Log-mean-exp and the effective sample size are
:mod:`latentebm.ops`'s. :func:`gaussian_fit_nll` is the baseline density every table is read against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from latentebm.ops import effective_sample_size, log_mean_exp, standard_normal_log_prob
from latentebm.samplers import langevin


@dataclass(frozen=True)
class LogZEstimate:
    """log Z_hat from each independent repeat (``estimates: (R,)``), their mean and standard deviation, the
    estimate pooling all repeats, and the mean effective sample size per repeat (out of ``n_per_repeat``)."""

    estimates: np.ndarray
    pooled: float
    ess: float
    n_per_repeat: int

    @property
    def mean(self) -> float:
        return float(self.estimates.mean())

    @property
    def std(self) -> float:
        return float(self.estimates.std(ddof=1)) if self.estimates.size > 1 else 0.0


def _summarise(log_w: torch.Tensor) -> LogZEstimate:
    """log_w: (R, n) log-weights of R independent repeats."""
    estimates = log_mean_exp(log_w, dim=1)
    ess = float(np.mean([effective_sample_size(row) for row in log_w]))
    return LogZEstimate(estimates.detach().cpu().numpy(), log_mean_exp(log_w.reshape(-1), dim=0).item(), ess,
                        log_w.shape[1])


def importance_log_z(log_weights: Callable[[int, torch.Generator], torch.Tensor], n: int, repeats: int,
                     rng: torch.Generator) -> LogZEstimate:
    """Estimator (1), ``repeats`` times with ``n`` proposal draws each.

    ``log_weights(n, rng) -> (n,)`` draws x_i from the proposal and returns log w_i (for the base as
    proposal, -E(x_i)).
    """
    with torch.no_grad():
        log_w = torch.stack([log_weights(n, rng) for _ in range(repeats)])
    return _summarise(log_w)


def ais_log_z(energy_of_latent: Callable[[torch.Tensor], torch.Tensor], dim: int, n: int, repeats: int,
              n_temperatures: int, step_size: float, rng: torch.Generator,
              dtype: torch.dtype | None = None, device: torch.device | str = "cpu") -> LogZEstimate:
    """AIS (2) from eta = N(0, I_dim) to eta(z) exp(-E(B(z))), one MALA move per temperature, on
    ``repeats * n`` chains; ``energy_of_latent(z: (B, dim)) -> (B,)`` is E(B(z)).

    The temperatures are geometric-like, beta_k = (k / K)^4, denser near 0 where the target changes fastest.
    """
    betas = torch.linspace(0.0, 1.0, n_temperatures + 1, dtype=torch.float64) ** 4
    dtype = dtype or torch.get_default_dtype()
    z = torch.randn(repeats * n, dim, generator=rng, dtype=dtype, device=device)
    log_w = torch.zeros(repeats * n, dtype=dtype, device=device)
    energy = energy_of_latent(z).detach()
    for beta_prev, beta in zip(betas[:-1].tolist(), betas[1:].tolist(), strict=True):
        log_w = log_w - (beta - beta_prev) * energy

        def potential(latent: torch.Tensor, beta: float = beta) -> torch.Tensor:
            return -standard_normal_log_prob(latent) + beta * energy_of_latent(latent)

        state = langevin.mala_step(langevin.init(z, potential), potential, step_size, rng)
        z = state.z
        with torch.no_grad():
            energy = energy_of_latent(z)
    return _summarise(log_w.reshape(repeats, n))


def gaussian_fit_nll(x_train: torch.Tensor, x_test: torch.Tensor) -> float:
    """Mean test NLL of the Gaussian fitted to ``x_train: (n, d)`` by maximum likelihood (its mean and its
    covariance with 1/n), on ``x_test: (m, d)``: the simplest density baseline."""
    gaussian = torch.distributions.MultivariateNormal(x_train.mean(0), torch.cov(x_train.T, correction=0))
    return -gaussian.log_prob(x_test).mean().item()
