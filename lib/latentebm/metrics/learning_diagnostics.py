"""The anatomy paper's diagnostics of MCMC-based maximum-likelihood learning (Nijkamp et al. 2020, section 3),
computed on one batch, and their autocorrelation over the updates.

- d_t = mean U(data) - mean U(samples): the energy difference between the data and the negative samples of
  update t, which is also the learning loss whose gradient is the ML gradient. The paper finds it oscillating
  around 0 in every stable run (the update pushes the data's energy down and the samples' up).
- r_t = mean_i |grad_x F(x_i)| over the Langevin samples (and, as the authors record it, over the L steps of
  the chain): in the rescaled energy F = (eps^2 / 2) U it is the length of a Langevin step's drift, directly
  comparable with the noise eps of a step.
- the autocorrelation of d_t at short lags: near 0 ("weak oscillation") goes with convergent learning in the
  paper, negative at lag 1 ("strong oscillation", Adam or a high SGD rate) with non-convergent learning.
"""

from __future__ import annotations

import numpy as np
import torch


def energy_difference(u_data: torch.Tensor, u_samples: torch.Tensor) -> torch.Tensor:
    """d = mean U(data) - mean U(samples) along the last axis: ``(..., B), (..., M) -> (...)``."""
    return u_data.mean(-1) - u_samples.mean(-1)


def gradient_magnitude(grad: torch.Tensor) -> torch.Tensor:
    """r = mean over samples of |grad| (the norm over the last axis): ``(..., B, D) -> (...)``."""
    return grad.norm(dim=-1).mean(-1)


def autocorrelation(series: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation rho_k = sum_t (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)^2, k = 0..max_lag, of each
    column: ``(T,) -> (max_lag + 1,)`` or ``(T, C) -> (max_lag + 1, C)``."""
    x = np.asarray(series, dtype=np.float64)
    if x.shape[0] <= max_lag:
        raise ValueError(f"a series of {x.shape[0]} values has no autocorrelation at lag {max_lag}")
    centred = x - x.mean(0)
    denominator = (centred**2).sum(0)
    return np.stack([(centred[: len(x) - k] * centred[k:]).sum(0) / denominator for k in range(max_lag + 1)])


def mean_standard_error(series: np.ndarray, lag1: np.ndarray | float) -> np.ndarray:
    """The standard error of the mean of each column of ``series: (T, C)``, widened for its lag-1
    autocorrelation (an AR(1) approximation): sd / sqrt(T) * sqrt((1 + rho_1) / (1 - rho_1)), rho_1 clipped to
    [-0.9, 0.9]."""
    x = np.asarray(series, dtype=np.float64)
    rho = np.clip(lag1, -0.9, 0.9)
    return x.std(0) / np.sqrt(x.shape[0]) * np.sqrt((1 + rho) / (1 - rho))
