"""The energy distance between two sample sets ``a (n, p)`` and ``b (m, p)`` (NumPy arrays), used with the
Fréchet distance of :mod:`latentebm.metrics.frechet` (here on pixels: "pixel-space FD", not FID).

``energy_distance = 2 E|a - b| - E|a - a'| - E|b - b'|`` (V-statistic), zero iff the two laws agree.
"""

from __future__ import annotations

import numpy as np


def _mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).mean())


def energy_distance(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * _mean_distance(a, b) - _mean_distance(a, a) - _mean_distance(b, b)
