"""Samplers against analytic targets with explicit tolerances (Monte-Carlo standard errors stated inline).

Moments are estimated over many independent chains, so a standard error is sqrt(var / n_chains).
"""

import math

import numpy as np
import pytest
import torch
from latentebm.samplers import baselines, chains, diagnostics, hmc, langevin, reference, resampling, schedules
from latentebm.samplers.potentials import gaussian_potential, gebm_latent_potential, value_and_grad

N_CHAINS = 20000  # variance of a unit-variance coordinate then has standard error sqrt(2 / N) = 0.010


def standard_normal(d: int = 2) -> langevin.Potential:
    return gaussian_potential(torch.zeros(d, dtype=torch.float64), torch.eye(d, dtype=torch.float64))


def exact_start(generator, d=2, n=N_CHAINS):
    return torch.randn(n, d, generator=generator, dtype=torch.float64)


def run_sampler(name, z, potential, step_size, n_steps, generator, **kwargs):
    if name == "kla":
        state = langevin.init_kinetic(z, potential, generator)
        step = langevin.kla_step
    else:
        state = langevin.init(z, potential)
        step = {"ula": langevin.ula_step, "mala": langevin.mala_step, "hmc": hmc.hmc_step}[name]
    return chains.run(step, state, potential, schedules.constant(step_size), n_steps, generator, **kwargs)


@pytest.mark.parametrize(("name", "step_size", "kwargs"), [
    ("ula", 0.01, {}), ("mala", 0.3, {}), ("hmc", 0.3, {"n_leapfrog": 5}), ("kla", 0.1, {"friction": 1.0})])
def test_standard_gaussian_is_left_invariant(name, step_size, kwargs, generator):
    # starting exactly at N(0, I), 20 steps must keep mean 0 (SE 0.007) and unit variance (SE 0.010); ULA's
    # own bias at h = 0.01 is 1 / (1 - h/2) - 1 = 0.005, KLA's (OBABO) is O(h^2)
    state, _ = run_sampler(name, exact_start(generator), standard_normal(), step_size, 20, generator, **kwargs)
    z = state.z
    assert z.mean(0).abs().max() < 0.03
    assert (z.var(0) - 1.0).abs().max() < 0.04


def test_ula_stationary_variance_matches_closed_form_and_bias_shrinks_with_step(generator):
    # on N(0, 1): z' = (1 - h) z + sqrt(2h) xi has stationary variance 2h / (1 - (1 - h)^2) = 1 / (1 - h/2)
    biases = []
    for h in (0.4, 0.2, 0.05):
        state, _ = run_sampler("ula", exact_start(generator, d=1), standard_normal(1), h, 200, generator)
        variance = state.z.var().item()
        assert variance == pytest.approx(1.0 / (1.0 - h / 2.0), abs=0.04)
        biases.append(abs(variance - 1.0))
    assert biases[0] > biases[1] > biases[2]


CORRELATED_MEAN = torch.tensor([1.0, -0.5], dtype=torch.float64)
CORRELATED_COV = torch.tensor([[2.0, 1.2], [1.2, 1.0]], dtype=torch.float64)


@pytest.mark.parametrize(("name", "step_size", "kwargs"), [("mala", 0.3, {}), ("hmc", 0.3, {"n_leapfrog": 6})])
def test_metropolis_samplers_are_exact_on_a_correlated_gaussian(name, step_size, kwargs, generator):
    # 8000 chains started exactly at N(m, S), 40 steps: covariance entries have SE <= sqrt((2 + 1.44) / 8000)
    # = 0.021, tolerance 0.085 (4 SE). At the same step ULA ends far off (checked below: its variance along the
    # stiff direction, precision 5, is 1 / (5 (1 - 5h/2)) = 0.8 instead of 0.2), so the Metropolis test is what
    # makes these exact.
    potential = gaussian_potential(CORRELATED_MEAN, CORRELATED_COV)
    start = CORRELATED_MEAN + exact_start(generator, n=8000) @ torch.linalg.cholesky(CORRELATED_COV).T
    state, _ = run_sampler(name, start, potential, step_size, 40, generator, **kwargs)
    assert (state.z.mean(0) - CORRELATED_MEAN).abs().max() < 0.06
    assert (state.z.T.cov() - CORRELATED_COV).abs().max() < 0.085
    assert 0.3 < langevin.acceptance_rate(state).mean() < 1.0
    ula, _ = run_sampler("ula", start, potential, step_size, 40, generator)
    assert (ula.z.T.cov() - CORRELATED_COV).abs().max() > 0.3


def test_kla_with_infinite_friction_is_ula_with_step_h_squared_over_two():
    # pathwise: one OBABO step with gamma = inf redraws v = xi, so z' = z - (h^2/2) grad U + h xi
    potential = gaussian_potential(CORRELATED_MEAN, CORRELATED_COV)
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    h = 0.3
    kla = langevin.kla_step(langevin.init_kinetic(z, potential, torch.Generator().manual_seed(2)), potential, h,
                            torch.Generator().manual_seed(3), friction=math.inf)
    ula = langevin.ula_step(langevin.init(z, potential), potential, h * h / 2.0, torch.Generator().manual_seed(3))
    torch.testing.assert_close(kla.z, ula.z, rtol=1e-12, atol=1e-12)


def test_kla_with_infinite_friction_has_ula_stationary_variance(generator):
    h = 0.8  # delta = h^2 / 2 = 0.32: variance 1 / (1 - 0.16) = 1.19
    state, _ = run_sampler("kla", exact_start(generator, d=1), standard_normal(1), h, 100, generator,
                           friction=math.inf)
    assert state.z.var().item() == pytest.approx(1.0 / (1.0 - h * h / 4.0), abs=0.04)


def test_mala_accepts_almost_everything_at_a_tiny_step(generator):
    state, _ = run_sampler("mala", exact_start(generator, n=2000), standard_normal(), 1e-4, 20, generator)
    assert langevin.acceptance_rate(state).mean() > 0.999


def test_chains_run_keeps_a_thinned_trace_and_counts_gradients(generator):
    state, trace = run_sampler("hmc", exact_start(generator, n=8), standard_normal(), 0.1, 10, generator,
                               keep_every=5, n_leapfrog=3)
    assert trace.shape == (2, 8, 2)
    assert state.n_steps == 10 and state.n_grad == 1 + 30


def test_step_decay_schedule():
    schedule = schedules.step_decay(1e-2, 0.1, 200)
    assert schedule(0) == schedule(199) == 1e-2
    assert schedule(200) == pytest.approx(1e-3) and schedule(450) == pytest.approx(1e-4)
    assert schedules.constant(0.5)(10**6) == 0.5
    with pytest.raises(ValueError):
        schedules.step_decay(1e-2, 2.0, 10)


def test_gebm_latent_potential_gradient_is_the_closed_form():
    # B(z) = A z, E(x) = |x - c|^2 / 2: grad U = z + beta A^T (A z - c)
    a = torch.tensor([[1.0, 0.5], [-0.3, 2.0], [0.2, 0.1]], dtype=torch.float64)
    c = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    beta = 7.0
    potential = gebm_latent_potential(lambda z: z @ a.T, lambda x: 0.5 * (x - c).pow(2).sum(1), beta)
    z = torch.randn(5, 2, dtype=torch.float64)
    u, grad = value_and_grad(potential, z)
    torch.testing.assert_close(grad, z + beta * (z @ a.T - c) @ a)
    torch.testing.assert_close(u, 0.5 * z.pow(2).sum(1) + beta * 0.5 * (z @ a.T - c).pow(2).sum(1))


def test_independent_metropolis_hastings_is_exact(generator):
    # eta = N(0, 1), w(z) = exp(-(z - 1)^2 / 2): the target is N(1/2, 1/2)
    log_weight = baselines.energy_log_weight(lambda z: z, lambda x: 0.5 * (x - 1.0).pow(2).sum(1), beta=1.0)
    state = baselines.imh_run(exact_start(generator, d=1), log_weight, 100, generator)
    assert state.z.mean().item() == pytest.approx(0.5, abs=0.03)
    assert state.z.var().item() == pytest.approx(0.5, abs=0.03)
    assert 0.3 < (state.n_accepted / state.n_steps).mean() < 1.0


def test_dot_lowers_its_objective_and_moves_where_the_critic_is_steep(generator):
    # D(z) = -|z - 2|^2, steepest far from (2, 2). Where |grad D| / k_eff < 1 the start z_y is the minimiser (the
    # cusp of |z - z_y|), so DOT leaves such latents (up to Adam's jitter of order lr) and moves the steep ones.
    critic = lambda z: -(z - 2.0).pow(2).sum(1)  # noqa: E731
    z_y = exact_start(generator, n=256)
    k_eff = baselines.lipschitz_estimate(critic, z_y)
    z = baselines.dot_shift(z_y, critic, k_eff, n_steps=50, lr=0.02)
    objective = (z - z_y).norm(dim=1) - critic(z) / k_eff
    assert (objective <= -critic(z_y) / k_eff + 0.05).all()
    steepest = (z_y - 2.0).norm(dim=1).argsort()[-10:]
    assert (critic(z[steepest]) > critic(z_y[steepest]) + 0.5).all()
    assert critic(z).mean() > critic(z_y).mean()


def test_lipschitz_estimate_of_a_linear_function():
    w = torch.tensor([3.0, -4.0], dtype=torch.float64)
    z = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    k = baselines.lipschitz_estimate(lambda x: x @ w, z)
    assert 4.9 < k <= 5.0 + 1e-9


def test_ess_of_independent_and_autocorrelated_chains(rng):
    iid = rng.normal(size=(1000, 4, 2))
    assert diagnostics.ess(iid) == pytest.approx(np.full(2, 4000.0), rel=0.15)
    rho, ar = 0.9, np.zeros((4000, 4, 1))
    for t in range(1, len(ar)):
        ar[t] = rho * ar[t - 1] + math.sqrt(1 - rho**2) * rng.normal(size=(4, 1))
    expected = 16000 * (1 - rho) / (1 + rho)  # 842
    assert diagnostics.ess(ar)[0] == pytest.approx(expected, rel=0.3)
    assert diagnostics.ess_per_gradient(iid, grads_per_step=2) == pytest.approx(0.5, rel=0.15)


def test_rhat_and_rank_histograms(rng):
    agree = rng.normal(size=(500, 4, 1))
    assert abs(diagnostics.rhat(agree)[0] - 1.0) < 0.02
    disagree = agree + np.arange(4).reshape(1, 4, 1)
    assert diagnostics.rhat(disagree)[0] > 1.5
    flat = diagnostics.rank_histograms(agree, bins=10)
    assert flat.shape == (4, 1, 10) and flat.sum() == 2000
    assert np.abs(flat - 50).max() < 25  # each bin ~ Binomial(500, 0.1)-like: sd 6.7
    skewed = diagnostics.rank_histograms(disagree, bins=10)
    assert skewed[0, 0, :5].sum() > 0.85 * 500  # the lowest chain (mean 0, others 1, 2, 3) ranks low


def test_toy_torch_and_jax_twins_agree():
    toy = reference.toy_gebm()
    z = np.random.default_rng(0).normal(size=(16, 2))
    torch_values = toy.potential_torch(3.0)(torch.as_tensor(z)).numpy()
    import jax

    jax_potential = toy.potential_jax(3.0)
    jax_values = np.array([float(jax_potential(jax.numpy.asarray(row, dtype=jax.numpy.float32))) for row in z])
    np.testing.assert_allclose(jax_values, torch_values, rtol=1e-5, atol=1e-4)


def test_grid_posterior_of_a_gaussian_has_its_moments():
    grid = reference.grid_posterior(gaussian_potential(CORRELATED_MEAN * 0.5, CORRELATED_COV * 0.5), limit=5.0)
    assert grid.expectation(lambda z: z[:, 0]) == pytest.approx(0.5, abs=1e-4)
    assert grid.expectation(lambda z: z[:, 0] * z[:, 1]) == pytest.approx(0.6 - 0.125, abs=1e-3)


def test_histogram_tv_is_at_its_floor_for_exact_draws_and_large_for_wrong_ones(rng):
    grid = reference.grid_posterior(standard_normal(), limit=4.0, n=200)
    floor = reference.histogram_tv_floor(grid, 4000, 10, rng)
    assert floor.max() < 0.1  # about sqrt(bins / n) / 2: 0.08 here
    shifted = grid.sample(4000, rng) + 0.5
    assert reference.histogram_tv(shifted, grid) > floor.max() + 0.1


def test_nuts_reference_matches_the_grid_on_the_toy():
    toy = reference.toy_gebm()
    grid = reference.grid_posterior(toy.potential_torch(1.0))
    result = reference.nuts_reference(toy.potential_jax(1.0), 2, 300, 600, 0, np.zeros((2, 2)))
    draws = result.draws
    assert draws.shape == (600, 2, 2) and result.gradients_per_draw >= 1
    # a two-mode posterior and correlated draws: compare the mean with a tolerance of a few tenths of the spread
    np.testing.assert_allclose(draws.reshape(-1, 2).mean(0),
                               [grid.expectation(lambda z: z[:, 0]), grid.expectation(lambda z: z[:, 1])], atol=0.25)


def test_mode_switches_count_arrivals_in_another_mode_only():
    centres = np.array([[-1.0, 0.0], [1.0, 0.0]])
    path = np.array([[-1, 0], [-0.1, 0], [0.05, 0], [-0.9, 0], [0.0, 0], [1.1, 0], [0.9, 0], [-1.0, 0]], float)
    labels = diagnostics.mode_labels(path[:, None, :], centres, radius=0.5)
    assert labels[:, 0].tolist() == [0, -1, -1, 0, -1, 1, 1, 0]
    assert diagnostics.mode_switches(labels).tolist() == [2]


def test_importance_resampling_tilts_a_gaussian_to_its_closed_form(generator):
    # base N(0, 1) reweighted by exp(x) is N(1, 1); the pool's ESS / M is E[w]^2 / E[w^2] = e^{-1}
    pool = torch.randn(400000, 1, generator=generator, dtype=torch.float64)
    drawn = resampling.importance_resample(pool, pool[:, 0], 40000, generator)
    assert float(drawn.x.mean()) == pytest.approx(1.0, abs=0.03)
    assert float(drawn.x.std()) == pytest.approx(1.0, abs=0.03)
    assert drawn.ess / pool.shape[0] == pytest.approx(math.exp(-1.0), abs=0.01)


def test_effective_sample_size_limits():
    assert resampling.effective_sample_size(torch.zeros(50, dtype=torch.float64)) == pytest.approx(50.0)
    log_w = torch.tensor([0.0, -800.0, -900.0], dtype=torch.float64)
    assert resampling.effective_sample_size(log_w) == pytest.approx(1.0)


def test_resample_reweighted_base_of_a_shift_base_and_linear_energy(generator):
    # base x = z + 2 with E(x) = -x/2 at beta 2: exp(x) N(x; 2, 1) is N(3, 1)
    drawn = resampling.resample_reweighted_base(lambda z: z + 2.0, lambda x: -0.5 * x[:, 0], 1, 20000, 200000,
                                                generator, beta=2.0)
    assert float(drawn.x.mean()) == pytest.approx(3.0, abs=0.04)
