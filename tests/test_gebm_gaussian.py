"""The closed forms of notebook 04: the KALE objective on Gaussians against the Monte-Carlo KALE bound, and KALE
over the ball of linear energies (closed form against grid search on samples)."""

import math

import numpy as np
import pytest
import torch
from latentebm.divergences import gebm_gaussian as closed
from latentebm.divergences.variational import dv_bound, kale_bound
from latentebm.runtime import streams


def test_closed_form_objective_matches_the_kale_bound_on_samples():
    """F(w, a, c) in closed form against variational.kale_bound averaged over samples of P and Q: the MC estimate
    must sit within 4 standard errors, for a few energies (including the optimal one, where F = KL)."""
    mu, sigma, theta = np.array([0.4, -0.3]), 0.8, np.array([-0.2, 0.5])
    rng = streams(0).child("mc").torch()
    n = 200_000
    x_p = torch.as_tensor(mu) + sigma * torch.randn(n, 2, generator=rng, dtype=torch.float64)
    x_q = torch.as_tensor(theta) + torch.randn(n, 2, generator=rng, dtype=torch.float64)
    w_star, a_star, c_star = closed.optimal_energy(mu, sigma, theta)
    cases = [(np.array([0.3, 0.1]), 0.2, 0.1), (np.array([-0.5, 0.4]), 0.0, -0.3), (w_star, a_star, c_star)]
    for w, a, c in cases:
        def energy(x, w=w, a=a):
            return -(x @ torch.as_tensor(w)) + 0.5 * a * x.square().sum(-1)
        e_p, e_q = energy(x_p), energy(x_q)
        estimate = kale_bound(e_p, e_q, c).item()
        terms_sd = math.sqrt((e_p.var() / n + torch.exp(-e_q - c).var() / n).item())
        assert abs(estimate - closed.kale_bound_closed_form(w, a, c, mu, sigma, theta)) < 4 * terms_sd
    assert closed.kale_bound_closed_form(w_star, a_star, c_star, mu, sigma, theta) == pytest.approx(
        closed.kl(mu, sigma, theta), abs=1e-12)


def test_ball_grid_lies_in_the_disk_and_holds_the_axis_points():
    w = closed.ball_grid(1.5, 31)
    assert w.shape[1] == 2
    assert bool((w.norm(dim=1) <= 1.5 + 1e-9).all()) and len(w) < 31 * 31  # the corners are cut
    for point in ([0.0, 0.0], [0.0, 1.5], [0.0, -1.5], [1.5, 0.0], [-1.5, 0.0]):
        assert bool(torch.isclose(w, torch.tensor(point, dtype=w.dtype), atol=1e-12).all(dim=1).any())
    corner = closed.ball_grid(1.0, 31).abs().sum(1).max()
    assert corner < 2.0  # the corners of the square are cut off


@pytest.mark.parametrize("distance", [0.5, 1.0, 2.5])
def test_ball_kale_closed_form_is_half_d2_inside_and_l_d_minus_half_l2_outside(distance):
    radius = 1.0
    mu, theta = np.array([distance, 0.0]), np.zeros(2)
    expected = 0.5 * distance**2 if distance <= radius else radius * distance - 0.5 * radius**2
    assert closed.ball_kale(mu, theta, radius) == pytest.approx(expected, rel=1e-14)
    w = closed.ball_optimal_w(mu, theta, radius)
    assert np.linalg.norm(w) == pytest.approx(min(distance, radius), rel=1e-14)


@pytest.mark.parametrize("distance", [0.5, 2.5])
def test_ball_kale_from_samples_meets_the_closed_form(distance):
    """Grid search over the disk on 20000 samples each: within Monte-Carlo error (a few 1e-2) of the closed form,
    with w* pointing along mu - theta."""
    radius, n = 1.0, 20_000
    rng = streams(0).child("ball", int(10 * distance)).torch()
    x_p = torch.randn(n, 2, generator=rng, dtype=torch.float64) + torch.tensor([distance, 0.0])
    x_q = torch.randn(n, 2, generator=rng, dtype=torch.float64)
    value, w_hat = closed.ball_kale_from_samples(x_p, x_q, closed.ball_grid(radius, 81))
    assert value == pytest.approx(closed.ball_kale(np.array([distance, 0.0]), np.zeros(2), radius), abs=0.04)
    assert w_hat[0].item() == pytest.approx(min(distance, radius), abs=0.1)
    assert abs(w_hat[1].item()) < 0.1


def test_ball_kale_from_samples_is_the_dv_bound_at_its_w_and_takes_weights():
    rng = streams(0).child("dv").torch()
    x_p, x_q = torch.randn(300, 2, generator=rng, dtype=torch.float64), torch.randn(200, 2, generator=rng,
                                                                                    dtype=torch.float64) + 0.7
    grid = closed.ball_grid(1.0, 21)
    value, w = closed.ball_kale_from_samples(x_p, x_q, grid)
    assert value == pytest.approx(dv_bound(-(x_p @ w), -(x_q @ w)).item(), abs=1e-12)
    uniform = torch.full((200,), 1.0 / 200, dtype=torch.float64)
    assert closed.ball_kale_from_samples(x_p, x_q, grid, uniform)[0] == pytest.approx(value, abs=1e-12)
    # weights concentrated on one point: Q becomes delta_{x_0}, and the value is max_w w.(mean_P - x_0)
    one = torch.zeros(200, dtype=torch.float64)
    one[0] = 1.0
    assert closed.ball_kale_from_samples(x_p, x_q, grid, one)[0] == pytest.approx(
        float((grid @ (x_p.mean(0) - x_q[0])).max()), abs=1e-12)
