"""Samplers against analytic targets with explicit tolerances (Monte-Carlo standard errors stated inline).

Every sampler is reached through the registry (``samplers.registry.SAMPLERS``), so a sampler added there must be
added to ``CASES`` below or these tests fail. Moments are estimated over many independent chains, so a standard
error is sqrt(var / n_chains).
"""

import math
from typing import NamedTuple

import numpy as np
import pytest
import torch
from latentebm import ops
from latentebm.runtime import streams, torch_generator
from latentebm.samplers import (
    baselines,
    chains,
    diagnostics,
    hmc,
    langevin,
    nuts,
    quality,
    reference,
    resampling,
    schedules,
)
from latentebm.samplers.potentials import gaussian_potential, gebm_latent_potential, value_and_grad
from latentebm.samplers.registry import SAMPLERS, Sampler, get

N_CHAINS = 20000  # variance of a unit-variance coordinate then has standard error sqrt(2 / N) = 0.010



class Case(NamedTuple):
    """A step size and options at which a sampler is close to its target, its gradients per step there, and
    the steps after which chains started at one point have forgotten it."""

    step_size: float
    options: dict
    grads_per_step: int
    converge_steps: int


CASES = {
    "ula": Case(0.02, {}, 1, 300),  # contraction (1 - 2h)^300 = 5e-6
    "mala": Case(0.2, {}, 1, 200),
    "hmc": Case(0.2, {"n_leapfrog": 5}, 5, 60),  # 60 trajectories of length 1
    "kla": Case(0.2, {"friction": 1.0}, 1, 300),  # time 60 at friction 1
    "imh": Case(0.0, {}, 0, 100),
}


@pytest.fixture
def torch_rng() -> torch.Generator:
    return torch_generator(12345)


def gaussian(mean, covariance):
    return gaussian_potential(torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(covariance,
                                                                                       dtype=torch.float64))


def standard_normal(d: int = 2):
    return gaussian(torch.zeros(d), torch.eye(d))


def exact_start(rng, d=2, n=N_CHAINS):
    return torch.randn(n, d, generator=rng, dtype=torch.float64)


def sample(name, z, potential, step_size, n_steps, rng, keep_every=0, **options):
    return chains.sample(name, z, potential, schedules.constant(step_size), n_steps, rng, keep_every, **options)


def test_every_registered_sampler_has_a_test_case():
    assert set(CASES) == set(SAMPLERS)
    for name, sampler in SAMPLERS.items():
        assert isinstance(sampler, Sampler) and sampler.name == name and get(name.upper()) is sampler


@pytest.mark.parametrize("name", sorted(CASES))
def test_standard_gaussian_is_left_invariant(name, torch_rng):
    # starting exactly at N(0, I), 20 steps must keep mean 0 (SE 0.007) and unit variance (SE 0.010); ULA's
    # own bias at h = 0.02 is 1 / (1 - h/2) - 1 = 0.010, KLA's (OBABO) is O(h^2)
    case = CASES[name]
    state, _ = sample(name, exact_start(torch_rng), standard_normal(), case.step_size, 20, torch_rng, **case.options)
    assert state.z.mean(0).abs().max() < 0.03
    assert (state.z.var(0) - 1.0).abs().max() < 0.04


TARGET_MEAN, TARGET_VARIANCE = torch.tensor([1.0, -0.5], dtype=torch.float64), 0.5


@pytest.mark.parametrize("name", sorted(CASES))
def test_chains_started_at_one_point_converge_to_a_gaussian(name, torch_rng):
    # N((1, -0.5), 0.5 I) from every chain at (3, 3): a sampler that does not move, or moves to the wrong law,
    # fails. After ``converge_steps`` the start is forgotten. SE of the mean 0.005, of the variance 0.005; ULA's
    # bias at h = 0.02 is 0.5 / (1 - h) - 0.5 = 0.010, KLA's O(h^2) about 0.010.
    case = CASES[name]
    potential = gaussian(TARGET_MEAN, TARGET_VARIANCE * torch.eye(2))
    start = torch.full((N_CHAINS, 2), 3.0, dtype=torch.float64)
    state, _ = sample(name, start, potential, case.step_size, case.converge_steps, torch_rng, **case.options)
    assert (state.z.mean(0) - TARGET_MEAN).abs().max() < 0.025
    assert (state.z.var(0) - TARGET_VARIANCE).abs().max() < 0.03


@pytest.mark.parametrize("name", sorted(CASES))
def test_grads_per_step_counts_the_gradient_evaluations(name, torch_rng):
    # count the evaluations of U with z requiring grad (one per gradient) independently of the state's counter
    step_size, options, expected, _ = CASES[name]
    calls = []
    base = standard_normal()

    def counted(z):
        calls.append(z.requires_grad)
        return base(z)

    sampler = SAMPLERS[name]
    assert sampler.grads_per_step(**options) == expected
    state = sampler.init(exact_start(torch_rng, n=8), counted, torch_rng)
    at_start = sum(calls)
    state, _ = chains.run(sampler.step, state, counted, schedules.constant(step_size), 3, torch_rng, **options)
    assert sum(calls) - at_start == 3 * expected
    assert state.n_grad == at_start + 3 * expected and state.n_steps == 3


def test_grads_per_step_of_hmc_is_its_leapfrog_count_and_options_are_checked():
    assert SAMPLERS["hmc"].grads_per_step(n_leapfrog=7) == 7
    assert SAMPLERS["hmc"].grads_per_step() == hmc.DEFAULT_LEAPFROG
    assert SAMPLERS["kla"].grads_per_step(friction=math.inf) == 1
    assert SAMPLERS["hmc"].options == ("n_leapfrog",) and SAMPLERS["ula"].options == ()
    with pytest.raises(TypeError, match="n_leapfrog"):
        SAMPLERS["mala"].grads_per_step(n_leapfrog=3)
    with pytest.raises(TypeError):
        chains.sample("kla", torch.zeros(2, 2), standard_normal(), schedules.constant(0.1), 1, None, n_leapfrog=3)
    with pytest.raises(KeyError, match="known"):
        get("nuts")


def test_ula_stationary_variance_matches_closed_form_and_bias_shrinks_with_step(torch_rng):
    # on N(0, 1): z' = (1 - h) z + sqrt(2h) xi has stationary variance 2h / (1 - (1 - h)^2) = 1 / (1 - h/2)
    biases = []
    for h in (0.4, 0.2, 0.05):
        state, _ = sample("ula", exact_start(torch_rng, d=1), standard_normal(1), h, 200, torch_rng)
        variance = state.z.var().item()
        assert variance == pytest.approx(1.0 / (1.0 - h / 2.0), abs=0.04)
        biases.append(abs(variance - 1.0))
    assert biases[0] > biases[1] > biases[2]


CORRELATED_MEAN = torch.tensor([1.0, -0.5], dtype=torch.float64)
CORRELATED_COV = torch.tensor([[2.0, 1.2], [1.2, 1.0]], dtype=torch.float64)
EXACT = sorted(name for name, sampler in SAMPLERS.items() if sampler.exact)


def test_the_exact_samplers_are_the_metropolis_ones():
    assert EXACT == ["hmc", "imh", "mala"]


@pytest.mark.parametrize("name", EXACT)
def test_metropolis_samplers_are_exact_on_a_correlated_gaussian_at_a_large_step(name, torch_rng):
    # 8000 chains started exactly at N(m, S), 40 steps at h = 0.3: covariance entries have SE <= sqrt((2 + 1.44)
    # / 8000) = 0.021, tolerance 0.085 (4 SE). At the same step ULA ends far off (checked below: its variance
    # along the stiff direction, precision 5, is 1 / (5 (1 - 5h/2)) = 0.8 instead of 0.2), so the Metropolis
    # test is what makes these exact.
    potential = gaussian(CORRELATED_MEAN, CORRELATED_COV)
    start = CORRELATED_MEAN + exact_start(torch_rng, n=8000) @ torch.linalg.cholesky(CORRELATED_COV).T
    state, _ = sample(name, start, potential, 0.3, 40, torch_rng, **CASES[name].options)
    assert (state.z.mean(0) - CORRELATED_MEAN).abs().max() < 0.06
    assert (state.z.T.cov() - CORRELATED_COV).abs().max() < 0.085
    assert 0.1 < langevin.acceptance_rate(state).mean() < 1.0
    ula, _ = sample("ula", start, potential, 0.3, 40, torch_rng)
    assert (ula.z.T.cov() - CORRELATED_COV).abs().max() > 0.3


def test_kla_with_infinite_friction_is_ula_with_step_h_squared_over_two():
    # pathwise: one OBABO step with gamma = inf redraws v = xi, so z' = z - (h^2/2) grad U + h xi
    potential = gaussian(CORRELATED_MEAN, CORRELATED_COV)
    z = torch.randn(64, 2, generator=torch_generator(1), dtype=torch.float64)
    h = 0.3
    kla = langevin.kla_step(langevin.init_kinetic(z, potential, torch_generator(2)), potential, h,
                            torch_generator(3), friction=math.inf)
    ula = langevin.ula_step(langevin.init(z, potential), potential, h * h / 2.0, torch_generator(3))
    torch.testing.assert_close(kla.z, ula.z, rtol=1e-12, atol=1e-12)


def test_kla_with_infinite_friction_has_ula_stationary_variance(torch_rng):
    h = 0.8  # delta = h^2 / 2 = 0.32: variance 1 / (1 - 0.16) = 1.19
    state, _ = sample("kla", exact_start(torch_rng, d=1), standard_normal(1), h, 100, torch_rng, friction=math.inf)
    assert state.z.var().item() == pytest.approx(1.0 / (1.0 - h * h / 4.0), abs=0.04)


def test_mala_accepts_almost_everything_at_a_tiny_step(torch_rng):
    state, _ = sample("mala", exact_start(torch_rng, n=2000), standard_normal(), 1e-4, 20, torch_rng)
    assert langevin.acceptance_rate(state).mean() > 0.999


def test_chains_keep_a_thinned_trace_and_continue_a_schedule(torch_rng):
    state, trace = sample("hmc", exact_start(torch_rng, n=8), standard_normal(), 0.1, 10, torch_rng, keep_every=5,
                          n_leapfrog=3)
    assert trace.shape == (2, 8, 2)
    assert state.n_steps == 10 and state.n_grad == 1 + 30
    torch.testing.assert_close(trace[-1], state.z)
    seen = []
    chains.run(lambda s, u, h, r: seen.append(h) or s, state, None, schedules.step_decay(1.0, 0.5, 2), 3, None,
               start=2)
    assert seen == [0.5, 0.5, 0.25]


def test_sample_evaluated_scores_the_start_every_few_steps_and_the_end(torch_rng):
    state, steps, values = chains.sample_evaluated("ula", torch.zeros(4, 2, dtype=torch.float64), standard_normal(),
                                                   schedules.constant(0.1), 7, torch_rng, 3,
                                                   lambda s: float(s.n_steps))
    assert steps == [0, 3, 6, 7] and values == [0.0, 3.0, 6.0, 7.0] and state.n_steps == 7


def test_early_stopping_keeps_the_chains_where_the_score_was_lowest():
    """ULA on N(0, 1) from z = 4: the mean decays as 4 (1 - h)^k, so the score (mean - 2)^2 is lowest near
    k* = log(1/2) / log(1 - h) = 13.5 at h = 0.05; the kept latents are those of a plain run of that length."""
    start, h = torch.full((4000, 1), 4.0, dtype=torch.float64), 0.05
    stopped = chains.sample_early_stopped("ula", start, standard_normal(1), schedules.constant(h), 40,
                                          torch.Generator().manual_seed(3), 1, lambda z: float((z.mean() - 2) ** 2),
                                          report=lambda z: float(z.mean()))
    assert 12 <= stopped.step <= 15 and stopped.steps == list(range(41)) and len(stopped.reports) == 41
    again, _ = chains.sample("ula", start, standard_normal(1), schedules.constant(h), stopped.step,
                             torch.Generator().manual_seed(3))
    assert torch.equal(stopped.z, again.z)
    assert stopped.reports[stopped.step] == pytest.approx(2.0, abs=0.1)
    worse = chains.sample_early_stopped("ula", start, standard_normal(1), schedules.constant(h), 10,
                                        torch.Generator().manual_seed(3), 5, lambda z: float((z.mean() - 4) ** 2))
    assert worse.step == 0 and torch.equal(worse.z, start) and worse.steps == [0, 5, 10]


def test_early_stopping_never_chooses_a_nan_score():
    scores = iter([float("nan"), 3.0, 1.0, 2.0])
    stopped = chains.sample_early_stopped("ula", torch.zeros(3, 1, dtype=torch.float64), standard_normal(1),
                                          schedules.constant(0.1), 3, torch.Generator().manual_seed(0), 1,
                                          lambda z: next(scores))
    assert stopped.step == 2 and stopped.steps == [0, 1, 2, 3]


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
    z = torch.randn(5, 2, generator=torch_generator(0), dtype=torch.float64)
    u, grad = value_and_grad(potential, z)
    torch.testing.assert_close(grad, z + beta * (z @ a.T - c) @ a)
    torch.testing.assert_close(u, 0.5 * z.pow(2).sum(1) + beta * 0.5 * (z @ a.T - c).pow(2).sum(1))


def test_gebm_ula_samples_a_reweighted_identity_base(torch_rng):
    # B(z) = z, E(x) = (x - 1)^2 / 2, beta = 1: nu = N(1/2, 1/2); ULA at h = 0.01 (precision 2) has variance
    # 0.5 / (1 - 0.01) = 0.505. SE of the mean 0.005, of the variance 0.005.
    x = chains.gebm_ula_samples(lambda z: z, lambda x: 0.5 * (x - 1.0).pow(2).sum(1), N_CHAINS, 1, torch_rng, 1.0,
                                300, 0.01)
    assert x.shape == (N_CHAINS, 1)
    assert float(x.mean()) == pytest.approx(0.5, abs=0.02)
    assert float(x.var()) == pytest.approx(0.505, abs=0.02)


def test_independent_metropolis_hastings_is_exact_on_a_tilted_prior(torch_rng):
    # eta = N(0, 1), w(z) = exp(-(z - 1)^2 / 2): the target is N(1/2, 1/2); from 100 fresh proposals per chain
    potential = gebm_latent_potential(lambda z: z, lambda x: 0.5 * (x - 1.0).pow(2).sum(1))
    state, _ = sample("imh", exact_start(torch_rng, d=1), potential, 0.0, 100, torch_rng)
    assert state.z.mean().item() == pytest.approx(0.5, abs=0.03)
    assert state.z.var().item() == pytest.approx(0.5, abs=0.03)
    assert 0.3 < langevin.acceptance_rate(state).mean() < 1.0 and state.n_grad == 0
    # its log-weight is -beta E(B(z)) for a GEBM potential
    z = exact_start(torch_rng, d=1, n=5)
    torch.testing.assert_close(baselines.prior_log_weight(potential, z), -0.5 * (z[:, 0] - 1.0) ** 2)


def test_dot_lowers_its_objective_and_moves_where_the_critic_is_steep(torch_rng):
    # D(z) = -|z - 2|^2, steepest far from (2, 2). Where |grad D| / k_eff < 1 the start z_y is the minimiser (the
    # cusp of |z - z_y|), so DOT leaves such latents (up to Adam's jitter of order lr) and moves the steep ones.
    critic = baselines.latent_critic(lambda z: z, lambda x: (x - 2.0).pow(2).sum(1))
    z_y = exact_start(torch_rng, n=256)
    k_eff = baselines.latent_slope_bound(critic, z_y)
    z = baselines.dot_shift(z_y, critic, k_eff, n_steps=50, lr=0.02)
    objective = (z - z_y).norm(dim=1) - critic(z) / k_eff
    assert (objective <= -critic(z_y) / k_eff + 0.05).all()
    steepest = (z_y - 2.0).norm(dim=1).argsort()[-10:]
    assert (critic(z[steepest]) > critic(z_y[steepest]) + 0.5).all()
    assert critic(z).mean() > critic(z_y).mean()


def test_latent_slope_bound_of_a_linear_function():
    # slopes of z -> w.z over random pairs approach |w| = 5 from below
    w = torch.tensor([3.0, -4.0], dtype=torch.float64)
    z = torch.randn(4000, 2, generator=torch_generator(0), dtype=torch.float64)
    k = baselines.latent_slope_bound(lambda x: x @ w, z)
    assert 4.9 < k <= 5.0 + 1e-9


def test_ess_of_independent_and_autocorrelated_chains(np_rng):
    iid = np_rng.normal(size=(1000, 4, 2))
    assert diagnostics.ess(iid) == pytest.approx(np.full(2, 4000.0), rel=0.15)
    rho, ar = 0.9, np.zeros((4000, 4, 1))
    for t in range(1, len(ar)):
        ar[t] = rho * ar[t - 1] + math.sqrt(1 - rho**2) * np_rng.normal(size=(4, 1))
    expected = 16000 * (1 - rho) / (1 + rho)  # 842
    assert diagnostics.ess(ar)[0] == pytest.approx(expected, rel=0.3)
    assert diagnostics.ess_per_gradient(iid, grads_per_step=2) == pytest.approx(0.5, rel=0.15)


def test_rhat_and_rank_histograms(np_rng):
    agree = np_rng.normal(size=(500, 4, 1))
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
    np.testing.assert_allclose(toy.potential_jax_values(z, 3.0), torch_values, rtol=1e-5, atol=1e-4)


def test_self_normalised_estimate_of_a_tilted_gaussian(np_rng):
    # x ~ N(0, 1) weighted by exp(x) is N(1, 1): E[x] = 1; the standard error is sqrt(var / ESS), ESS = M e^{-1}
    x = np_rng.normal(size=200000)
    estimate, stderr = reference.self_normalised(x, torch.as_tensor(x))
    expected_se = math.sqrt(1.0 / (len(x) * math.exp(-1.0)))
    assert stderr == pytest.approx(expected_se, rel=0.1)
    assert abs(estimate - 1.0) < 4 * expected_se


def test_grid_posterior_of_a_gaussian_has_its_moments():
    grid = reference.grid_posterior(gaussian(CORRELATED_MEAN * 0.5, CORRELATED_COV * 0.5), limit=5.0)
    assert grid.expectation(lambda z: z[:, 0]) == pytest.approx(0.5, abs=1e-4)
    assert grid.expectation(lambda z: z[:, 0] * z[:, 1]) == pytest.approx(0.6 - 0.125, abs=1e-3)


def test_histogram_tv_is_at_its_floor_for_exact_draws_and_large_for_wrong_ones(np_rng):
    grid = reference.grid_posterior(standard_normal(), limit=4.0, n=200)
    floor = reference.histogram_tv_floor(grid, 4000, 10, np_rng)
    assert floor.max() < 0.1  # about sqrt(bins / n) / 2: 0.08 here
    shifted = grid.sample(4000, np_rng) + 0.5
    assert reference.histogram_tv(shifted, grid) > floor.max() + 0.1


def test_nuts_matches_the_grid_on_the_toy():
    toy = reference.toy_gebm()
    grid = reference.grid_posterior(toy.potential_torch(1.0))
    result = nuts.run_nuts(toy.potential_jax(1.0), np.zeros((2, 2)), 300, 600, streams(0).child("nuts").int_seed())
    draws = result.draws
    assert draws.shape == (600, 2, 2) and draws.dtype == np.float64 and result.gradients_per_draw >= 1
    # a two-mode posterior and correlated draws: compare the mean with a tolerance of a few tenths of the spread
    np.testing.assert_allclose(draws.reshape(-1, 2).mean(0),
                               [grid.expectation(lambda z: z[:, 0]), grid.expectation(lambda z: z[:, 1])], atol=0.25)
    summary = result.summary()
    assert summary["r_hat_max"] < 1.1 and summary["ess_bulk_min"] > 50 and summary["divergences"] == result.divergences


def test_nuts_seeds_use_every_bit_and_small_seeds_are_jax_keys():
    import jax

    np.testing.assert_array_equal(nuts.jax_key(7), jax.random.PRNGKey(7))
    assert not np.array_equal(nuts.jax_key(7), nuts.jax_key(7 + 2**40))
    key = jax.random.PRNGKey(3)
    assert nuts.jax_key(key) is key
    with pytest.raises(ValueError):
        nuts.jax_key(-1)


def test_mode_switches_count_arrivals_in_another_mode_only():
    centres = np.array([[-1.0, 0.0], [1.0, 0.0]])
    path = np.array([[-1, 0], [-0.1, 0], [0.05, 0], [-0.9, 0], [0.0, 0], [1.1, 0], [0.9, 0], [-1.0, 0]], float)
    labels = diagnostics.mode_labels(path[:, None, :], centres, radius=0.5)
    assert labels[:, 0].tolist() == [0, -1, -1, 0, -1, 1, 1, 0]
    assert diagnostics.mode_switches(labels).tolist() == [2]


def test_importance_resampling_tilts_a_gaussian_to_its_closed_form(torch_rng):
    # base N(0, 1) reweighted by exp(x) is N(1, 1); the pool's ESS / M is E[w]^2 / E[w^2] = e^{-1}
    pool = torch.randn(400000, 1, generator=torch_rng, dtype=torch.float64)
    drawn = resampling.importance_resample(pool, pool[:, 0], 40000, torch_rng)
    assert float(drawn.x.mean()) == pytest.approx(1.0, abs=0.03)
    assert float(drawn.x.std()) == pytest.approx(1.0, abs=0.03)
    assert drawn.ess / pool.shape[0] == pytest.approx(math.exp(-1.0), abs=0.01)


def test_the_one_effective_sample_size_limits():
    assert ops.effective_sample_size(torch.zeros(50, dtype=torch.float64)) == pytest.approx(50.0)
    log_w = torch.tensor([0.0, -800.0, -900.0], dtype=torch.float64)
    assert ops.effective_sample_size(log_w) == pytest.approx(1.0)
    assert not hasattr(resampling, "effective_sample_size") or resampling.effective_sample_size is \
        ops.effective_sample_size


def test_resample_reweighted_base_of_a_shift_base_and_linear_energy(torch_rng):
    # base x = z + 2 with E(x) = -x/2 at beta 2: exp(x) N(x; 2, 1) is N(3, 1)
    drawn = resampling.resample_reweighted_base(lambda z: z + 2.0, lambda x: -0.5 * x[:, 0], 1, 20000, 200000,
                                                torch_rng, beta=2.0)
    assert float(drawn.x.mean()) == pytest.approx(3.0, abs=0.04)


class _Flatten(torch.nn.Module):
    """A stand-in feature classifier: its features are the pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def features(self, x):
        return self.scale * x.flatten(1)


def test_latent_frechet_of_the_reference_itself_is_small_and_of_blown_up_chains_is_inf(torch_rng):
    # B(z) = z as a 1x1x2 "image"; FD between two samples of N(0, I_2) is O(d^2 / n), of N(3, I) about |3|^2 * 2
    base = lambda z: z.reshape(-1, 1, 1, 2)  # noqa: E731
    reference_features = exact_start(torch_rng, n=4000).numpy()
    fd = quality.latent_frechet(base, _Flatten(), reference_features)
    assert fd(exact_start(torch_rng, n=4000)) < 0.01
    assert fd(exact_start(torch_rng, n=4000) + 3.0) == pytest.approx(18.0, rel=0.05)
    blown_up = exact_start(torch_rng, n=10)
    blown_up[3, 0] = math.inf
    assert fd(blown_up) == math.inf


def test_median_gradient_norm_of_the_standard_normal_potential_is_the_median_radius():
    from latentebm.experiments.gebm_sampling import median_gradient_norm

    z = torch.randn(101, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert median_gradient_norm(standard_normal(3), z) == pytest.approx(float(z.norm(dim=1).median()), rel=1e-12)
