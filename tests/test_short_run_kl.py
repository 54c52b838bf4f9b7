"""The K-step short-run map, its exact and estimated log-determinant, and KL(q_s || p(z|x)) against closed forms
in factor analysis (linear-Gaussian), where posterior and short-run distribution are Gaussian."""

import math

import numpy as np
import pytest
import torch
from latentebm.divergences.short_run_kl import kl_up_to_log_evidence, tune_by_gradient, tune_by_grid
from latentebm.models.factor_analysis import FactorAnalysis, gaussian_kl
from latentebm.ops import standard_normal_log_prob
from latentebm.samplers.inference import run_chain, unrolled_map
from latentebm.samplers.nuts_reference import toy_log_joint, toy_weights


@pytest.fixture
def fa(rng):
    torch.set_default_dtype(torch.float64)
    return FactorAnalysis.random(x_dim=8, z_dim=3, sigma=0.5, rng=rng)


def toy_problem(rng, n):
    torch.set_default_dtype(torch.float64)
    weights = toy_weights(x_dim=5, z_dim=2, hidden=8, seed=3)
    x = torch.randn(1, 5, generator=rng).repeat(n, 1)
    return lambda z: toy_log_joint(weights, x[: len(z)], z, sigma=0.5)


def test_exact_logdet_matches_finite_differences(rng):
    log_joint = toy_problem(rng, 4)
    z0 = torch.randn(4, 2, generator=rng)
    s, K = torch.tensor(0.2), 6
    exact = unrolled_map(log_joint, z0, s, K).logdet

    def F(z):
        return run_chain(log_joint, z, float(s), K)

    h = 1e-6
    columns = [(F(z0 + h * e) - F(z0 - h * e)) / (2 * h) for e in torch.eye(2)]
    jacobian = torch.stack(columns, dim=2)  # (B, d_out, d_in)
    np.testing.assert_allclose(exact.detach(), torch.linalg.slogdet(jacobian).logabsdet, rtol=1e-6, atol=1e-6)


def test_unrolled_map_endpoint_is_the_chain(rng):
    log_joint = toy_problem(rng, 4)
    z0 = torch.randn(4, 2, generator=rng)
    mapped = unrolled_map(log_joint, z0, torch.tensor(0.2), 6)
    torch.testing.assert_close(mapped.z.detach(), run_chain(log_joint, z0, 0.2, 6))


def test_hutchinson_logdet_agrees_with_exact(rng):
    log_joint = toy_problem(rng, 4)
    z0 = torch.randn(4, 2, generator=rng)
    s = torch.tensor(0.1)
    exact = unrolled_map(log_joint, z0, s, 3).logdet.detach()
    estimate = unrolled_map(log_joint, z0, s, 3, logdet="hutchinson", n_probes=1000, n_terms=10,
                            rng=rng).logdet.detach()
    # Rademacher probes: per probe and step the error has variance 2 sum_{i != j} L_ij^2, L = log(I + eta H),
    # about 0.4 here at most; 1000 probes and 3 steps give a standard error near 0.035, so 0.1 is ~3 errors
    np.testing.assert_allclose(estimate, exact, atol=0.1)
    assert float((exact.abs()).min()) > 0.1  # the check is not trivially about zeros


def test_factor_analysis_posterior_is_gaussian_conditioning(fa, rng):
    x, _ = fa.sample(5, rng)
    mean, cov = fa.posterior(x)
    cov_xx = fa.W @ fa.W.T + fa.sigma**2 * torch.eye(8)
    gain = fa.W.T @ torch.linalg.inv(cov_xx)
    torch.testing.assert_close(mean, (x - fa.mu) @ gain.T)
    torch.testing.assert_close(cov, torch.eye(3) - gain @ fa.W)
    # Bayes: log p(x) = log p(x, z) - log p(z | x) at any z
    z = torch.randn(5, 3, generator=rng)
    log_post = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov).log_prob(z)
    torch.testing.assert_close(fa.log_evidence(x), fa.log_joint(x, z) - log_post)


def test_factor_analysis_short_run_moments_match_simulation(fa, rng):
    x, _ = fa.sample(1, rng)
    mean, cov = fa.short_run(x, s=0.12, n_steps=10)
    z0 = torch.randn(20000, 3, generator=rng)
    z = run_chain(lambda z: fa.log_joint(x.repeat(len(z), 1), z), z0, 0.12, 10)
    torch.testing.assert_close(z.mean(0), mean[0], atol=0.03, rtol=0)  # 4 standard errors at n = 20000
    torch.testing.assert_close(torch.cov(z.T), cov, atol=0.03, rtol=0)


def test_gaussian_kl_matches_torch(rng):
    torch.set_default_dtype(torch.float64)
    a = torch.randn(3, 3, generator=rng)
    b = torch.randn(3, 3, generator=rng)
    cov_q, cov_p = a @ a.T + 0.5 * torch.eye(3), b @ b.T + 0.5 * torch.eye(3)
    m_q, m_p = torch.randn(2, 3, generator=rng), torch.randn(2, 3, generator=rng)
    expected = torch.distributions.kl_divergence(torch.distributions.MultivariateNormal(m_q, cov_q),
                                                 torch.distributions.MultivariateNormal(m_p, cov_p))
    torch.testing.assert_close(gaussian_kl(m_q, cov_q, m_p, cov_p), expected)


@pytest.mark.parametrize("s", [0.05, 0.1, 0.2])
def test_kl_estimator_matches_closed_form_in_factor_analysis(fa, rng, s):
    x, _ = fa.sample(1, rng)
    n = 1000
    z0 = torch.randn(n, 3, generator=rng)
    xs = x.repeat(n, 1)
    mapped = unrolled_map(lambda z: fa.log_joint(xs, z), z0, torch.tensor(s), 25)
    terms = (standard_normal_log_prob(z0) - mapped.logdet - fa.log_joint(xs, mapped.z)).detach()
    estimate = terms.mean() + fa.log_evidence(x)[0]
    closed = gaussian_kl(*fa.short_run(x, s, 25), *fa.posterior(x))[0]
    standard_error = terms.std() / math.sqrt(n)
    assert abs(float(estimate - closed)) < 4 * float(standard_error) + 1e-8
    # and the log-determinant of the linear map is K log|det(I - eta A)| exactly
    eta = 0.5 * s**2
    expected = 25 * torch.linalg.slogdet(torch.eye(3) - eta * fa.precision).logabsdet
    torch.testing.assert_close(mapped.logdet.detach(), expected.expand(n))


def test_tuning_finds_the_true_minimiser_in_factor_analysis(fa, rng):
    x, _ = fa.sample(1, rng)
    grid = np.linspace(0.04, 0.24, 11)
    closed = [float(gaussian_kl(*fa.short_run(x, s, 25), *fa.posterior(x))[0]) for s in grid]
    s_true = grid[int(np.argmin(closed))]
    n = 300
    z0 = torch.randn(n, 3, generator=rng)
    xs = x.repeat(n, 1)

    def objective(s):
        return kl_up_to_log_evidence(lambda z: fa.log_joint(xs, z), z0, s, 25)

    assert tune_by_grid(objective, grid).s == pytest.approx(s_true, abs=0.021)  # within one grid step
    assert tune_by_gradient(objective, 0.05, steps=25, lr=0.1).s == pytest.approx(s_true, abs=0.02)


def test_folding_map_is_inadmissible(rng):
    log_joint = toy_problem(rng, 64)
    z0 = torch.randn(64, 2, generator=rng)
    assert not unrolled_map(log_joint, z0, torch.tensor(0.05), 10).folds
    assert unrolled_map(log_joint, z0, torch.tensor(2.0), 10).folds
    assert kl_up_to_log_evidence(log_joint, z0, torch.tensor(2.0), 10).item() == float("inf")


def test_one_example_scores_a_batch_of_chains_by_broadcasting(fa, rng):
    """The notebook scores one x (1, D) against chains z (C, d) without repeating x."""
    x, _ = fa.sample(1, rng)
    z = torch.randn(7, 3, generator=rng)
    torch.testing.assert_close(fa.log_joint(x, z), fa.log_joint(x.repeat(7, 1), z))


def test_tuning_keeps_the_dtype_it_is_given(fa, rng):
    x, _ = fa.sample(1, rng)
    z0 = torch.randn(50, 3, generator=rng)
    seen = []

    def objective(s):
        seen.append(s.dtype)
        return kl_up_to_log_evidence(lambda z: fa.log_joint(x, z), z0, s, 5)

    tune_by_grid(objective, [0.1, 0.2], dtype=torch.float32)
    tune_by_gradient(objective, 0.1, steps=2, dtype=torch.float32)
    assert set(seen) == {torch.float32}
