"""Convergence diagnostics through arviz for chains from any sampler: effective sample size, R-hat, rank plots.

A trace is ``(T, C, d)`` (steps, chains, coordinates) as :func:`latentebm.samplers.chains.run` keeps it;
arviz wants ``(chain, draw)``, so traces are transposed here. arviz 0.23 warns about its coming refactor on
import and some functions warn about deprecated defaults; those FutureWarnings are silenced here, where they
arise, so that they never reach a notebook's output.

References:
[1] Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), Rank-normalization, folding, and localization: an
    improved R-hat for assessing convergence of MCMC. Bayesian Analysis 16(2).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.stats


def _arviz():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz

    return arviz


def _per_coordinate(function_name: str, trace, **kwargs) -> np.ndarray:
    arviz = _arviz()
    values = np.asarray(trace, dtype=np.float64).transpose(1, 0, 2)  # (C, T, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        function = getattr(arviz, function_name)
        return np.array([float(function(values[:, :, i], **kwargs)) for i in range(values.shape[2])])


def ess(trace, method: str = "bulk") -> np.ndarray:
    """Rank-normalised effective sample size of each coordinate [1]; ``trace: (T, C, d) -> (d,)``."""
    return _per_coordinate("ess", trace, method=method)


def rhat(trace) -> np.ndarray:
    """Rank-normalised split R-hat of each coordinate [1] (near 1 when the chains agree); ``(T, C, d) -> (d,)``."""
    return _per_coordinate("rhat", trace)


def ess_per_gradient(trace, grads_per_step: int) -> float:
    """min over coordinates of the bulk ESS, divided by the gradient evaluations spent on the whole trace."""
    steps, chains, _ = np.shape(trace)
    return float(ess(trace).min() / (steps * chains * grads_per_step))


def rank_histograms(trace, bins: int = 20) -> np.ndarray:
    """Rank plot counts [1]: rank all draws of a coordinate pooled over chains, histogram each chain's ranks.

    ``trace: (T, C, d) -> (C, d, bins)``; for chains that sample the same law each histogram is flat.
    """
    values = np.asarray(trace, dtype=np.float64)
    steps, chains, dims = values.shape
    counts = np.zeros((chains, dims, bins))
    for i in range(dims):
        ranks = scipy.stats.rankdata(values[:, :, i].ravel()).reshape(steps, chains)
        edges = np.linspace(0.5, steps * chains + 0.5, bins + 1)
        for c in range(chains):
            counts[c, i] = np.histogram(ranks[:, c], edges)[0]
    return counts


def mode_labels(x: np.ndarray, centres: np.ndarray, radius: float) -> np.ndarray:
    """The index of the centre within ``radius`` of each point, -1 when none: ``x: (..., D) -> (...)``."""
    distances = np.linalg.norm(np.asarray(x)[..., None, :] - centres, axis=-1)
    nearest = distances.argmin(-1)
    return np.where(distances.min(-1) < radius, nearest, -1)


def mode_switches(labels: np.ndarray) -> np.ndarray:
    """Moves from one mode to a different one along each chain, ignoring time spent between modes.

    ``labels: (T, C)`` from :func:`mode_labels`; returns ``(C,)`` counts. Requiring arrival inside another
    mode's ball (hysteresis) keeps a chain that jitters on the border from counting as switching.
    """
    labels = np.asarray(labels)
    counts = np.zeros(labels.shape[1], dtype=int)
    current = labels[0].copy()
    for row in labels[1:]:
        arrived = (row >= 0) & (current >= 0) & (row != current)
        counts += arrived
        current = np.where(row >= 0, row, current)
    return counts
