"""Exact 1-Wasserstein distances between empirical measures (seed 001, "Topological properties of KALE (2)":
KALE(P, Q; H) <= L W1(P, Q) for L-Lipschitz critics).

W1(P, Q) = inf over couplings pi of E_pi |X - Y| = sup over 1-Lipschitz f of E_P f - E_Q f.

- One dimension: W1 = int |F_P(t) - F_Q(t)| dt = int_0^1 |F_P^{-1}(u) - F_Q^{-1}(u)| du, exact for empirical
  measures of any sizes (piecewise-constant CDFs); with equal sizes it is the mean gap between sorted samples.
- Any dimension, equal sizes n: the optimal coupling of two uniform empirical measures can be taken to be a
  permutation (Birkhoff), so W1 = min over permutations of the mean distance: an assignment problem, solved
  exactly by :func:`scipy.optimize.linear_sum_assignment` (O(n^3)).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist


def w1_1d(x: np.ndarray, y: np.ndarray) -> float:
    """W1 between the empirical measures of x: (n,) and y: (m,), by integrating |F_P - F_Q| exactly."""
    x, y = np.sort(np.ravel(x)), np.sort(np.ravel(y))
    breakpoints = np.sort(np.concatenate([x, y]))
    cdf_x = np.searchsorted(x, breakpoints[:-1], side="right") / len(x)
    cdf_y = np.searchsorted(y, breakpoints[:-1], side="right") / len(y)
    return float(np.sum(np.abs(cdf_x - cdf_y) * np.diff(breakpoints)))


def w1_sorted(x: np.ndarray, y: np.ndarray) -> float:
    """W1 for equal sizes in 1-D: the mean of |x_(i) - y_(i)| over the sorted samples (the quantile coupling)."""
    x, y = np.ravel(x), np.ravel(y)
    if len(x) != len(y):
        raise ValueError(f"w1_sorted needs equal sizes, got {len(x)} and {len(y)}; use w1_1d")
    return float(np.mean(np.abs(np.sort(x) - np.sort(y))))


def w1_assignment(x: np.ndarray, y: np.ndarray) -> float:
    """W1 between uniform empirical measures of equal size, x, y: (n, d), by an optimal assignment."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"w1_assignment needs equal sample sizes, got {x.shape[0]} and {y.shape[0]}")
    cost = cdist(x.reshape(len(x), -1), y.reshape(len(y), -1))
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
