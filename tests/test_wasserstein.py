"""Exact W1: against scipy's 1-D implementation, shifts, and the assignment in several dimensions."""

import numpy as np
import pytest
from latentebm.metrics.wasserstein import w1_1d, w1_assignment, w1_sorted
from scipy.stats import wasserstein_distance


def test_w1_1d_matches_scipy_for_unequal_sizes(np_rng):
    x, y = np_rng.normal(size=137), np_rng.normal(1.0, 2.0, size=59)
    assert w1_1d(x, y) == pytest.approx(wasserstein_distance(x, y), rel=1e-12)


def test_sorted_and_assignment_agree_with_cdf_form_in_1d(np_rng):
    x, y = np_rng.normal(size=80), np_rng.exponential(size=80)
    assert w1_sorted(x, y) == pytest.approx(w1_1d(x, y), rel=1e-12)
    assert w1_assignment(x[:, None], y[:, None]) == pytest.approx(w1_1d(x, y), rel=1e-12)


def test_w1_of_a_shift_is_the_shift_length(np_rng):
    x = np_rng.normal(size=(50, 2))
    shift = np.array([0.3, -0.4])
    assert w1_assignment(x, x + shift) == pytest.approx(0.5, rel=1e-12)


def test_assignment_is_never_beaten_by_a_random_permutation(np_rng):
    x, y = np_rng.normal(size=(40, 3)), np_rng.normal(size=(40, 3))
    best = w1_assignment(x, y)
    for _ in range(50):
        assert best <= np.linalg.norm(x - y[np_rng.permutation(40)], axis=1).mean() + 1e-12


def test_equal_sizes_are_required():
    with pytest.raises(ValueError, match="equal"):
        w1_assignment(np.zeros((3, 2)), np.zeros((4, 2)))
