"""Variational bounds: tight at the optimal critic, below the truth over a restricted class, consistent."""

import math

import pytest
import torch
from latentebm.data import toys
from latentebm.divergences import fdiv
from latentebm.divergences import gaussian as gauss
from latentebm.divergences.variational import Measure, dv_bound, f_dual, fit_critic, kale_bound, kl_dual
from latentebm.models.critics import LinearCritic, MLPCritic, QuadraticCritic
from latentebm.ops import log_mean_exp
from latentebm.runtime import initialised_from, streams

P, Q = gauss.Gaussian1D(1.0, 0.7), gauss.Gaussian1D(0.0, 1.0)


@pytest.fixture
def measures():
    grid = gauss.quadrature_grid(P, Q, n=4001, width=10.0)
    return grid, Measure.from_density(grid, P.log_prob), Measure.from_density(grid, Q.log_prob)


@pytest.mark.parametrize("name", ["kl", "reverse_kl", "pearson", "squared_hellinger"])
def test_bound_is_tight_at_phi_prime_of_ratio(measures, name):
    grid, p, q = measures
    div = fdiv.get(name)
    f_opt = div.phi_prime(torch.exp(P.log_prob(grid) - Q.log_prob(grid)))
    value = (p.mean(f_opt) - q.mean(div.conjugate(f_opt))).item()
    assert value == pytest.approx(gauss.closed_form(name, P, Q), rel=1e-6)


def test_quadratic_class_reaches_gaussian_kl(measures):
    torch.set_default_dtype(torch.float64)
    _, p, q = measures
    fit = fit_critic(lambda c: kl_dual(c, p, q), QuadraticCritic(1), steps=200)
    assert fit.value == pytest.approx(gauss.kl(P, Q), rel=1e-6)


def test_linear_class_is_a_strict_lower_bound(measures):
    torch.set_default_dtype(torch.float64)
    _, p, q = measures
    fit = fit_critic(lambda c: kl_dual(c, p, q), LinearCritic(1), steps=200)
    assert 0.0 < fit.value < gauss.kl(P, Q) - 0.05


def test_kl_dual_at_true_critic_is_unbiased_from_samples():
    torch.set_default_dtype(torch.float64)
    g = torch.Generator().manual_seed(3)
    h = lambda x: Q.log_prob(x.squeeze(-1)) - P.log_prob(x.squeeze(-1))  # noqa: E731
    estimates = torch.tensor([kl_dual(h, Measure(P.sample(500, g)), Measure(Q.sample(500, g))).item()
                              for _ in range(200)])
    standard_error = estimates.std().item() / math.sqrt(len(estimates))
    assert abs(estimates.mean().item() - gauss.kl(P, Q)) < 4 * standard_error


def test_js_dual_reaches_log2_on_disjoint_supports():
    torch.set_default_dtype(torch.float64)
    x_p, x_q = toys.parallel_lines(200, 0.5, torch.Generator().manual_seed(0))
    js = fdiv.get("jensen_shannon")
    with initialised_from(streams(0).child("critic")):
        critic = MLPCritic(2, 16, 2)
    fit = fit_critic(lambda c: f_dual(js, c, Measure(x_p), Measure(x_q)), critic, steps=150)
    assert fit.value == pytest.approx(math.log(2.0), abs=1e-3)


def test_lipschitz_kl_dual_on_parallel_lines_is_L_times_t():
    torch.set_default_dtype(torch.float64)
    shift, lipschitz = 0.5, 2.0
    x_p, x_q = toys.parallel_lines(200, shift, torch.Generator().manual_seed(0))
    with initialised_from(streams(0).child("critic")):
        critic = MLPCritic(2, 16, 2, activation=torch.nn.ReLU, lipschitz=lipschitz)
    fit = fit_critic(lambda c: kl_dual(c, Measure(x_p), Measure(x_q)), critic, steps=400, optimiser="adam")
    # the 1-Lipschitz bound is enforced by spectral normalisation (power iteration), so allow a little slack
    assert fit.value == pytest.approx(lipschitz * shift, rel=0.03)


def test_fit_critic_rejects_unknown_optimiser():
    with pytest.raises(ValueError, match="optimiser"):
        fit_critic(lambda c: c(torch.zeros(1, 1)).sum(), LinearCritic(1), optimiser="sgd")


def test_kale_bound_at_its_best_constant_is_the_dv_bound():
    rng = torch.Generator().manual_seed(1)
    e_p, e_q = torch.randn(50, generator=rng, dtype=torch.float64), torch.randn(70, generator=rng, dtype=torch.float64)
    c_star = log_mean_exp(-e_q)
    assert kale_bound(e_p, e_q, c_star).item() == pytest.approx(dv_bound(e_p, e_q).item(), abs=1e-14)
    for shift in (-0.3, 0.2):  # any other constant gives less (the bound is concave in c, maximal at c*)
        assert kale_bound(e_p, e_q, c_star + shift).item() < dv_bound(e_p, e_q).item()


def test_kale_bound_with_weights_is_the_weighted_objective():
    e_p, e_q = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.1, 0.4])
    w_p, w_q = torch.tensor([0.2, 0.3, 0.5]), torch.tensor([0.9, 0.1])
    expected = -(w_p * (e_p + 0.7)).sum() - (w_q * torch.exp(-e_q - 0.7)).sum() + 1
    assert kale_bound(e_p, e_q, 0.7, w_p, w_q).item() == pytest.approx(expected.item(), rel=1e-14)


def test_from_density_keeps_the_grid_with_zero_weights_and_positive_drops_them():
    grid = torch.linspace(-10.0, 10.0, 101, dtype=torch.float64)
    measure = Measure.from_density(grid, gauss.Gaussian1D(1.0, 0.1).log_prob)
    assert measure.points.shape == (101, 1)
    assert measure.weights.sum().item() == pytest.approx(1.0, abs=1e-14)
    support = measure.positive()
    assert 0 < support.points.shape[0] < 101
    assert bool((support.weights > 0).all())
    assert support.mean(support.points[:, 0]).item() == pytest.approx(measure.mean(grid).item(), abs=1e-14)
    empirical = Measure(torch.zeros(4, 1, dtype=torch.float64))
    assert empirical.positive() is empirical
    assert torch.equal(empirical.probabilities(), torch.full((4,), 0.25, dtype=torch.float64))
    with pytest.raises(ValueError, match="no finite positive mass"):
        Measure.from_density(grid, lambda x: torch.full_like(x, -math.inf))
